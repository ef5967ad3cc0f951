"""The replay loop: records in, the live worker's verdicts, the engine, alerts and states out.

:class:`Replayer` feeds valid events through one :class:`EngineDriver` in the order the
source gives them, with their partition and record time (the driver keeps one stream clock
per partition and finds idle partitions by record time, as the worker does by wall time). Records before the range (``--warmup``) rebuild state; only alerts
caused by records in the range are reported. ``stop()`` (Ctrl-C) ends the loop between
two records, so every customer's state is whole and the partial report is consistent.

A valid record whose processing raises (:class:`RecordFailed`) is what the worker
dead-letters: the replay counts it as invalid, with the same value-free reason, and goes on.
"""

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.engine import CustomerState, EngineDriver, EngineSettings, RecordFailed, StepHook
from cxpulse.processors.engine.driver import DriverEngine
from cxpulse.schemas import Alert, InvalidEvent, ScoreSnapshot

from .ranges import RangeStart
from .verdict import read_event

__all__ = ["ReplayCounts", "ReplayResult", "Replayer", "fewer_collections"]

TICK = 2048  # records between two progress updates


@dataclass
class ReplayCounts:
    """Records seen, by verdict. ``read`` counts records in the range only."""

    read: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    warmup: int = 0  # records before the range, replayed to rebuild state
    skipped: int = 0  # other customers' records (``--customer``)
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class ReplayResult:
    """What a replay produced."""

    counts: ReplayCounts
    alerts: list[Alert]
    driver: EngineDriver
    partial: bool
    elapsed: float
    first_ms: int | None = None  # smallest / largest record timestamp in the range
    last_ms: int | None = None
    # A replay in several processes (.parallel) brings back the final scores and the states'
    # bytes, not live states (decoding them all here would be most of its serial time):
    # ``driver.states`` is empty then, and :meth:`states` decodes (if they were kept).
    final_scores: list[ScoreSnapshot] | None = None
    state_bytes: dict[str, bytes] | None = None

    def snapshots(self) -> list[ScoreSnapshot]:
        """Every customer's final score, by customer id."""
        if self.final_scores is not None:
            return self.final_scores
        engine = self.driver.engine
        return [engine.snapshot(self.driver.states[c]) for c in sorted(self.driver.states)]

    def states(self) -> dict[str, CustomerState]:
        """Every customer's final state."""
        if self.final_scores is not None and self.state_bytes is None:
            raise ValueError("this replay in several processes did not keep the states (keep_states=False)")
        if self.state_bytes is None:
            return self.driver.states
        return {c: CustomerState.from_bytes(data) for c, data in self.state_bytes.items()}


class Replayer:
    """Replays records through the engine; see the module docstring."""

    def __init__(self, settings: EngineSettings, max_future_seconds: float, *, customer: str | None = None,
                 range_start: RangeStart | None = None,
                 on_invalid: Callable[[SourceRecord, str], None] | None = None,
                 on_step: StepHook | None = None, partitions: int | None = None,
                 engine: DriverEngine | None = None) -> None:
        # Records without a partition (plain event files) go where Kafka's partitioner puts their key.
        # engine: Engine(settings) by default (a test passes one that wraps it to make records fail).
        self.driver = EngineDriver(settings, on_step=on_step, keep_alerts=False, partitions=partitions, engine=engine)
        self.max_future_seconds = max_future_seconds
        self.customer = customer
        self.key = None if customer is None else customer.encode("utf-8")
        self.range_start = range_start
        self.on_invalid = on_invalid
        self.stopping = False

    def stop(self) -> None:
        """End the replay after the current record (safe from a signal handler)."""
        self.stopping = True

    def run(self, records: Iterable[SourceRecord], tick: Callable[[int], None] | None = None) -> ReplayResult:
        """Replay ``records``; ``tick(n)`` is called every few thousand records with the count."""
        started = time.perf_counter()
        counts = ReplayCounts()
        alerts: list[Alert] = []
        span = [None, None]
        with fewer_collections():
            self._loop(records, counts, alerts, span, tick)
        partial = self.stopping
        if not partial:
            alerts += self.driver.finish()
        return ReplayResult(counts, alerts, self.driver, partial, time.perf_counter() - started, span[0], span[1])

    def _loop(self, records, counts: ReplayCounts, alerts: list[Alert], span: list, tick) -> int:
        """The hot loop: locals only; progress reported once per chunk of records."""
        feed, driver, key, customer = self.driver.feed, self.driver, self.key, self.customer
        includes = None if self.range_start is None else self.range_start.includes
        future = self.max_future_seconds
        seen = valid = warm_duplicates = 0
        duplicates_before = driver.duplicates
        low = high = None
        it = iter(records)
        while chunk := list(islice(it, TICK)):
            for record in chunk:
                if self.stopping:
                    break
                seen += 1
                if key is not None and record.key is not None and record.key != key:
                    counts.skipped += 1
                    continue
                in_range = includes is None or includes(record)
                try:
                    event = read_event(record, future, fast=True)
                except InvalidEvent as exc:
                    if in_range and (key is None or record.key == key):
                        self._invalid(record, exc.reason, counts, span)
                    continue
                if customer is not None and event.customer_id != customer:
                    counts.skipped += 1
                    continue
                ts = record.timestamp
                received = None if ts is None else ts / 1000.0
                if not in_range:
                    counts.warmup += 1
                    before = driver.duplicates
                    try:
                        feed(event, record.partition, received)
                    except RecordFailed:
                        pass  # before the range: what the worker dead-lettered rebuilds nothing
                    warm_duplicates += driver.duplicates - before
                    continue
                try:
                    caused = feed(event, record.partition, received)
                except RecordFailed as failure:
                    self._invalid(record, failure.reason, counts, span)
                    alerts += failure.alerts
                    continue
                valid += 1
                if ts is not None:
                    if low is None or ts < low:
                        low = ts
                    if high is None or ts > high:
                        high = ts
                if caused:
                    alerts += caused
            if tick is not None:
                tick(len(chunk))
            gc.freeze()  # what outlived the chunk is the replay's state: out of the collector's sight (fewer_collections)
            if self.stopping:
                break
        counts.valid += valid
        counts.read += valid
        counts.duplicates += driver.duplicates - duplicates_before - warm_duplicates
        _stretch(span, low)
        _stretch(span, high)
        return seen

    def _invalid(self, record: SourceRecord, reason: str, counts: ReplayCounts, span: list) -> None:
        counts.read += 1
        counts.invalid += 1
        counts.reasons[reason] += 1
        _stretch(span, record.timestamp)
        if self.on_invalid is not None:
            self.on_invalid(record, reason)


_gc_depth = 0


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic GC less often while a replay builds millions of long-lived objects.

    Customer states and alerts live until the replay ends; with the default thresholds
    the collector walks them again and again (several µs per event). Objects alive
    before are frozen out of its sight, and the replay loop freezes what outlived each
    chunk of records (``gc.freeze()`` is a constant-time splice), so even a young
    collection seldom walks a customer's state (the ten young collections of the
    benchmark's replay cost 2.6 µs per event). What is frozen is only out of sight until
    the end, when it is handed back; a reference cycle that became garbage meanwhile would
    wait until then (on the benchmark's replay a full collection afterwards frees nothing:
    states, alerts and events hold no cycles). Re-entrant: only the outermost use acts.
    """
    global _gc_depth
    _gc_depth += 1
    if _gc_depth > 1:
        try:
            yield
        finally:
            _gc_depth -= 1
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        _gc_depth -= 1


def _stretch(span: list, timestamp: int | None) -> None:
    if timestamp is None:
        return
    if span[0] is None or timestamp < span[0]:
        span[0] = timestamp
    if span[1] is None or timestamp > span[1]:
        span[1] = timestamp
