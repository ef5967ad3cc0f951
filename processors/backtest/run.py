"""Replay a source for a backtest: the replay's own sources and loop, with a :class:`Collector` as hook.

The source is what ``cxpulse replay`` reads — an archive directory or file, an event file,
or a Kafka range — merged and judged exactly as a replay does (the live worker's verdicts),
so a backtest over a Kafka range and over an archive of the same records agree.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.replay.progress import replay_progress
from cxpulse.processors.replay.ranges import merge_partitions
from cxpulse.processors.replay.run import Replayer, fewer_collections
from cxpulse.processors.replay.settings_file import settings_delta
from cxpulse.processors.replay.sources import Opened, open_kafka, open_path
from cxpulse.processors.replay.timerange import TimeRange
from cxpulse.processors.replay.verdict import read_event
from cxpulse.schemas import InvalidEvent
from cxpulse.schemas.outcomes import read_outcomes

from cxpulse.settings import Settings

from .collector import Collector
from .errors import BacktestError
from .evaluate import evaluate, outcome_events
from .outcomes import OutcomeIndex

__all__ = ["BacktestRequest", "Collected", "collect", "default_cutoff", "observed_until", "outcome_index", "report",
           "run_backtest", "stream_span"]

DAY = 86400.0


@dataclass(frozen=True)
class BacktestRequest:
    """What to replay and how to judge it (the options of ``cxpulse backtest``)."""

    source: Path | None = None
    topic: str | None = None
    range: TimeRange = TimeRange(None, None)
    cutoffs: tuple[datetime, ...] = ()
    horizon: timedelta = timedelta(days=30)
    outcomes: Path | None = None
    stream_outcomes: bool = True
    observed_until: datetime | None = None


@dataclass
class Collected:
    """One replay's collection, with what the report needs besides it."""

    collector: Collector
    source: str
    counts: Any
    file_outcomes: list = field(default_factory=list)


def _open(settings: Settings, request: BacktestRequest, progress) -> Opened:
    since, until = request.range.since_ms(), request.range.until_ms()
    if request.source is not None:
        if request.topic is not None:
            raise BacktestError("--topic reads Kafka; it cannot be combined with --from")
        return open_path(request.source, since, until, None, progress)
    return open_kafka(settings, request.topic or settings.topics.events, since, until, None, progress)


def stream_span(settings: Settings, request: BacktestRequest) -> tuple[float, float]:
    """The first and last event time of the valid events of the source (a quick pass, no engine)."""
    low = high = None
    future = settings.validation.max_future_seconds
    with replay_progress("reading event times", None) as progress:
        opened = _open(settings, request, progress.advance)
        try:
            progress.total(opened.total)
            for record in merge_partitions(opened.streams):
                try:
                    t = read_event(record, future).occurred_at.timestamp()
                except InvalidEvent:
                    continue
                low = t if low is None or t < low else low
                high = t if high is None or t > high else high
        finally:
            opened.close()
    if low is None or high is None:
        raise BacktestError("the source holds no valid event")
    return low, high


def collect(settings: Settings, request: BacktestRequest, engine: EngineSettings, cutoffs: Sequence[float],
            keep_features: bool = False) -> Collected:
    """Replay the source through the engine with a collector at ``cutoffs`` (epoch seconds)."""
    collector = Collector(engine, cutoffs, keep_features)
    with fewer_collections(), replay_progress("backtest", None) as progress:
        opened = _open(settings, request, progress.advance)
        try:
            replayer = Replayer(engine, settings.validation.max_future_seconds, on_step=collector,
                                partitions=opened.partitions or settings.topics.partitions)
            collector.driver = replayer.driver
            progress.total(opened.total)
            result = replayer.run(merge_partitions(opened.streams), tick=progress.counted)
        finally:
            opened.close()
    collector.finish()
    if not collector.customers:
        raise BacktestError(f"{opened.description} holds no contact event of any customer")
    files = read_outcomes(request.outcomes) if request.outcomes is not None else []
    return Collected(collector, opened.description, result.counts, files)


def default_cutoff(settings: Settings, request: BacktestRequest) -> float:
    """The end of the data less the horizon: the latest cut-off whose outcomes are all known."""
    low, high = stream_span(settings, request)
    until = request.observed_until.timestamp() if request.observed_until else high
    cutoff = until - request.horizon.total_seconds()
    if cutoff <= low:
        raise BacktestError(f"the data spans {(until - low) / DAY:.1f} d, no more than the horizon "
                            f"({request.horizon.total_seconds() / DAY:g} d): give a shorter --horizon")
    return cutoff


def outcome_index(collected: Collected, request: BacktestRequest) -> OutcomeIndex:
    """The join of the collection's account events and the outcomes file."""
    collector = collected.collector
    return OutcomeIndex(outcome_events(collector, collected.file_outcomes, request.stream_outcomes),
                        {cid: record.first_at for cid, record in collector.customers.items()})


def observed_until(collected: Collected, request: BacktestRequest) -> float:
    if request.observed_until:
        return request.observed_until.timestamp()
    last = collected.collector.last_at
    if last is None:
        raise BacktestError("the source holds no valid event")
    return last


def report(collected: Collected, request: BacktestRequest, engine: EngineSettings,
           base: EngineSettings | None = None, cutoffs: list[float] | None = None,
           since: float | None = None) -> dict[str, Any]:
    """The backtest's figures for one collection (``cutoffs``, ``since``: see :func:`evaluate`)."""
    collector = collected.collector
    index = outcome_index(collected, request)
    if not request.stream_outcomes and request.outcomes is None:
        raise BacktestError("no outcomes: give --outcomes FILE, or leave the account events in (--stream-outcomes)")
    until = observed_until(collected, request)
    extra = {
        "source": collected.source,
        "events": {"valid": collected.counts.valid, "invalid": collected.counts.invalid,
                   "duplicates": collected.counts.duplicates},
        "settings_changed": {k: list(v) for k, v in settings_delta(base or EngineSettings(), engine).items()},
        "bands": {"healthy_at_or_above": engine.healthy_at_or_above, "critical_below": engine.critical_below},
    }
    return evaluate(collector, index, engine, request.horizon.total_seconds(), until, extra, cutoffs, since)


def run_backtest(settings: Settings, request: BacktestRequest, engine: EngineSettings) -> dict[str, Any]:
    """Replay and report (the cut-off defaults to the end of the data less the horizon)."""
    cutoffs = [c.timestamp() for c in request.cutoffs] or [default_cutoff(settings, request)]
    collected = collect(settings, request, engine, cutoffs)
    return report(collected, request, engine, settings.engine)
