"""Simulated time: integer milliseconds, RFC 3339 formatting and the daily rhythm of contacts.

The simulator keeps every moment as integer milliseconds since the epoch, so that the
output is exact and identical across runs and platforms. Hours of the day are local
to the anchor's UTC offset: a run anchored at ``...+08:00`` has its office hours in
that zone.
"""

import random
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "Rhythm",
    "format_ms",
    "to_ms",
]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Relative intensity of contacts by local hour: busy in office hours, quiet at night.
_HOURLY = (
    0.05, 0.04, 0.04, 0.04, 0.05, 0.08,  # 00-05
    0.15, 0.35, 0.70, 1.00, 1.00, 0.95,  # 06-11
    0.80, 0.95, 0.95, 0.90, 0.85, 0.75,  # 12-17
    0.60, 0.45, 0.40, 0.30, 0.15, 0.08,  # 18-23
)  # fmt: skip
# Monday .. Sunday: weekends are quieter.
_WEEKDAY = (1.0, 0.95, 0.95, 0.95, 0.9, 0.5, 0.4)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (rounded down)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_ms(ms: int, tz: timezone = UTC) -> str:
    """RFC 3339 with milliseconds, ``Z`` for UTC, else the offset (``+08:00``)."""
    text = (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Rhythm:
    """When contacts happen: a weekly profile of hourly intensities in one UTC offset."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms
        week = [_HOURLY[h] * _WEEKDAY[d] for d in range(7) for h in range(24)]
        self.peak = max(week)
        self.mean = sum(week) / len(week)

    def intensity(self, ms: int) -> float:
        """Relative intensity (0..1] at a moment; 1 at the busiest hour of the week."""
        local = ms + self.offset_ms
        hour = (local // HOUR_MS) % 24
        weekday = (local // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        return _HOURLY[hour] * _WEEKDAY[weekday] / self.peak

    def hour(self, ms: int) -> int:
        """The local hour of day (0-23) of a moment."""
        return ((ms + self.offset_ms) // HOUR_MS) % 24

    def next_arrival(self, rng: random.Random, after_ms: int, per_day: float) -> int:
        """The next arrival of a Poisson process averaging ``per_day`` that follows the rhythm.

        Thinning: candidates at the peak rate, each kept with the intensity at its time.
        """
        peak_per_ms = per_day / DAY_MS * (self.peak / self.mean)
        moment = float(after_ms)
        while True:
            moment += rng.expovariate(peak_per_ms)
            if rng.random() < self.intensity(int(moment)):
                return int(moment)

    def office_moment(self, rng: random.Random, low_ms: int, high_ms: int, tries: int = 8) -> int:
        """A moment in ``[low_ms, high_ms]``, likelier in busy hours (rejection sampling)."""
        candidate = low_ms
        for _ in range(tries):
            candidate = rng.randint(low_ms, max(low_ms, high_ms))
            if rng.random() < self.intensity(candidate):
                return candidate
        return candidate
