"""Drive a simulation into a sink: pacing (``--rate``), and when to stop (``--count``, ``--duration``).

The clock and the sleep are arguments, so the pacing arithmetic is tested without
waiting for real time.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .sink import EventSink

__all__ = ["RunLimits", "RunStats", "run_events"]


@dataclass(frozen=True)
class RunLimits:
    """``rate``: events per second (0 = as fast as possible); ``count``, ``duration``: stop early."""

    rate: float = 0.0
    count: int | None = None
    duration: float | None = None  # seconds of wall time


@dataclass
class RunStats:
    """What a run emitted and why it ended: ``end`` (period done), ``count``, ``duration``, ``interrupted``."""

    emitted: int = 0
    elapsed: float = 0.0
    stopped_by: str = "end"

    @property
    def rate(self) -> float:
        return self.emitted / self.elapsed if self.elapsed > 0 else 0.0


def run_events(
    events: Iterable[dict[str, Any]],
    sink: EventSink,
    limits: RunLimits,
    *,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RunStats:
    """Send events (key = ``customer_id``) until they end or a limit is reached.

    A ``KeyboardInterrupt`` ends the run cleanly (``stopped_by="interrupted"``); the
    caller still closes the sink, so every event handed to it is accounted for.
    """
    stats, start = RunStats(), clock()
    interval = 1.0 / limits.rate if limits.rate > 0 else 0.0
    iterator = iter(events)
    try:
        while True:
            if interval:  # pace against the start, so that sleeping late does not drift
                ahead = start + stats.emitted * interval - clock()
                if ahead > 0:
                    sleep(ahead)
            stop = _limit_reached(stats.emitted, clock() - start, limits)
            event = None if stop else next(iterator, None)  # never draw an event that is not sent
            if event is None:
                stats.stopped_by = stop or "end"
                break
            sink.send(event["customer_id"].encode("utf-8"), orjson.dumps(event))
            stats.emitted += 1
            if progress is not None:
                progress(stats.emitted, event)
    except KeyboardInterrupt:
        stats.stopped_by = "interrupted"
    stats.elapsed = clock() - start
    return stats


def _limit_reached(emitted: int, elapsed: float, limits: RunLimits) -> str | None:
    if limits.count is not None and emitted >= limits.count:
        return "count"
    if limits.duration is not None and elapsed >= limits.duration:
        return "duration"
    return None
