"""``--since``/``--until``: RFC 3339 moments, plain UTC dates, or durations before now.

    2025-03-04T09:00:00+01:00   a moment (an offset or Z is required)
    2025-03-04                  midnight UTC at the start of that day
    7d, 36h, 90m, 45s, 2w       that long before now
    now                         the moment the command started
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from .errors import ReplayError

__all__ = ["TimeRange", "parse_duration", "parse_moment", "parse_range", "to_ms"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TimeRange(NamedTuple):
    """``[since, until)``; ``None`` is open (the beginning, or the end when the command started)."""

    since: datetime | None
    until: datetime | None

    def since_ms(self) -> int | None:
        return None if self.since is None else to_ms(self.since)

    def until_ms(self) -> int | None:
        return None if self.until is None else to_ms(self.until)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (Kafka's timestamps)."""
    return round(moment.timestamp() * 1000)


def parse_duration(text: str) -> timedelta:
    """``7d`` -> 7 days; units s, m, h, d, w."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ReplayError(f"{text!r} is not a duration: use a number and a unit, e.g. 90m, 36h, 7d, 2w")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_moment(text: str, now: datetime, option: str = "time") -> datetime:
    """An aware datetime from ``text`` (see the module docstring); ``now`` anchors durations."""
    value = text.strip()
    if value.lower() == "now":
        return now
    if _DURATION.match(value.lower()):
        return now - parse_duration(value)
    if _DATE.match(value):
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        except ValueError as exc:
            raise ReplayError(f"{option} {text!r}: {exc}") from None
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ReplayError(f"{option} {text!r} is not a time: use RFC 3339 (2025-03-04T09:00:00Z), "
                          "a date (2025-03-04, UTC) or a duration before now (7d)") from None
    if moment.tzinfo is None:
        raise ReplayError(f"{option} {text!r} has no UTC offset: add Z or e.g. +01:00")
    return moment


def parse_range(since: str | None, until: str | None, now: datetime) -> TimeRange:
    """Both ends; ``since`` must be before ``until``."""
    start = None if since is None else parse_moment(since, now, "--since")
    end = None if until is None else parse_moment(until, now, "--until")
    if start is not None and end is not None and start >= end:
        raise ReplayError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    return TimeRange(start, end)
