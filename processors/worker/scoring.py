"""One batch of ``cx.events`` records through the engine: the work of the ``score_events`` agent.

Per batch, and in this order:

1. every record is validated (``parse_event``; the "moment it is read" for the
   future-timestamp rule is the Kafka record's timestamp, so a replay of the same
   records gives the same verdict); an invalid one becomes a dead letter;
2. valid events step their customer's state (duplicates change nothing);
3. after each event, the clock of its partition (largest ``occurred_at`` read from that
   partition) sweeps that partition's customers with overdue tickets, exactly where
   ``EngineDriver`` does; at the end of the batch, idle partitions follow the overall
   clock (``clock.py``);
4. alerts, dead letters, contacts for the incident agent and, when the partition clocks
   changed, one *mark* per contacts partition (the clocks, for the incident watermark) go
   to ``effects``; then, per changed customer, one new state for the table (store +
   changelog) and one score snapshot go to ``state``.

The caller delivers ``effects`` before it sends ``state``: the changelog never says an
event was seen while that event's alert could still be lost (see docs/reliability.md).
"""

from collections import OrderedDict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from cxpulse.processors.engine import CustomerState, Engine, StepResult

from .clock import SlaClock
from .records import (Sink, alert_record, compact, contact_record, dead_letter_record, mark_record, snapshot_record,
                      warning_record)
from cxpulse.processors.validation import KEY_MISMATCH, validate_record

__all__ = ["KEY_MISMATCH", "BatchStats", "OutputTopics", "ScoringProcessor"]


@dataclass(frozen=True)
class OutputTopics:
    """Topic names the worker writes."""

    alerts: str
    scores: str
    dlq: str
    contacts: str
    changelog: str
    warnings: str | None = None  # agent warnings at contact starts (None: not written)


@dataclass
class BatchStats:
    """What one batch did, for metrics and logs (counts only: no customer data)."""

    events: int = 0
    invalid: int = 0
    duplicates: int = 0
    alerts: int = 0
    warnings: int = 0
    customers: int = 0
    reasons: list[str] = field(default_factory=list)
    # For the metrics, read once per batch (cxpulse.processors.worker.metrics):
    # (record timestamp, event, StepResult) per valid event, (None, None, StepResult) per SLA check that breached;
    observed: list[tuple[Any, Any, StepResult]] = field(default_factory=list)
    # the changed customers, key -> (state, partition).
    touched: dict[bytes, tuple[CustomerState, int]] = field(default_factory=dict)


class ScoringProcessor:
    """Drives :class:`Engine` over batches of raw records for the customers of one worker.

    ``store`` maps ``customer_id`` (bytes) to ``CustomerState.to_bytes()``: the table's
    local store, which holds bytes so that 100,000 customers stay small in memory. The
    ``cache_size`` most recently changed customers are also kept as live objects, so a
    busy customer is not decoded again for every batch; the store stays the truth.

    ``key_partitions`` maps each stored customer to its partition (faust's memory store
    keeps that map for what it recovers; :meth:`save` adds what the worker writes), so
    that :meth:`retain` can drop the customers of partitions this worker no longer owns.
    ``owned`` limits the SLA sweep to the partitions this worker owns (``None``: all).
    ``source_partitions`` (the partition count of ``cx.events``) and ``contacts_partitions``
    go into the marks for the incident agent.
    """

    def __init__(self, engine: Engine, topics: OutputTopics, store: MutableMapping[bytes, bytes],
                 clock: SlaClock, max_future_seconds: float, cache_size: int = 0,
                 key_partitions: MutableMapping[bytes, int] | None = None, *,
                 source_partitions: int | None = None, contacts_partitions: int = 1) -> None:
        self.engine = engine
        self.topics = topics
        self.store = store
        self.clock = clock
        self.max_future_seconds = max_future_seconds
        self.cache_size = cache_size
        self.key_partitions: MutableMapping[bytes, int] = key_partitions if key_partitions is not None else {}
        self.owned: frozenset[int] | None = None
        self.source_partitions = source_partitions
        self.contacts_partitions = contacts_partitions
        # Least recently saved first. An OrderedDict, not a dict: evicting a dict's first key
        # scans the slots its earlier deletions left (microseconds per event at 20,000 entries).
        self._cache: OrderedDict[bytes, CustomerState] = OrderedDict()

    def suspend(self) -> None:
        """Partitions are being revoked: own nothing (no sweep) until :meth:`retain` says what is kept."""
        self.owned = frozenset()
        self._cache.clear()

    def retain(self, owned: Iterable[int]) -> int:
        """Own ``owned`` partitions only: drop every other customer from the store; returns how many."""
        self.owned = frozenset(owned)
        self._cache.clear()
        gone = [key for key, partition in self.key_partitions.items() if partition not in self.owned]
        for key in gone:
            self.store.pop(key, None)
            del self.key_partitions[key]
        return len(gone)

    def process(self, messages: Iterable[Any], effects: Sink, state: Sink, emitted_at: str) -> BatchStats:
        """Run one batch of faust messages (``key``, ``value``, ``topic``, ``partition``,
        ``offset``, ``timestamp``); queue its records on ``effects`` and ``state``."""
        stats = BatchStats()
        touched: dict[bytes, tuple[CustomerState, int]] = {}
        now, clock = self.clock.wall(), self.clock
        for message in messages:
            stats.events += 1
            result = self._step(message, touched, effects, stats, now)
            if result is not None:
                self._emit(result, message.key, effects, emitted_at, stats)
                event = stats.observed[-1][1]  # the event _step just stepped
                if event.event_type == "contact_started" and self.topics.warnings is not None:
                    self._warn(event, result, message.key, effects, emitted_at, stats)
                if clock.due(message.partition):
                    self._sweep_partition(message.partition, touched, effects, emitted_at, stats)
        self.sweep(touched, effects, emitted_at, stats)
        self.save(touched, state)
        stats.customers = len(touched)
        stats.touched = touched
        return stats

    def sweep(self, touched: dict[bytes, tuple[CustomerState, int]], effects: Sink, emitted_at: str,
              stats: BatchStats) -> None:
        """Breach overdue tickets on every owned partition (idle ones by the overall clock),
        then send the partition clocks to the incident agent when they changed."""
        owned = self.owned
        if owned is not None and not owned:
            return  # a rebalance is under way: what this worker keeps is not known yet
        for partition in self.clock.refresh():
            if owned is not None and partition not in owned:
                continue  # moved to another worker, which sweeps it
            if self.clock.due(partition):
                self._sweep_partition(partition, touched, effects, emitted_at, stats)
        marks = self.clock.marks()
        if marks is not None:
            if owned is not None:
                marks = {p: c for p, c in marks.items() if p in owned}
            value = mark_record(marks, self.source_partitions)
            for partition in range(self.contacts_partitions):
                effects.add(self.topics.contacts, None, value, partition)

    def _sweep_partition(self, partition: int, touched: dict[bytes, tuple[CustomerState, int]], effects: Sink,
                         emitted_at: str, stats: BatchStats) -> None:
        """Breach the tickets of ``partition``'s customers whose due time its clock has passed."""
        clock, due = self.clock.pop_due(partition)
        for customer_id in due:
            key = customer_id.encode("utf-8")
            loaded = self._load(key, touched, partition)
            if loaded is None:
                continue
            result = self.engine.check_sla(loaded[0], clock)
            if result.signals:
                touched[key] = loaded
                stats.observed.append((None, None, result))
                self._emit(result, key, effects, emitted_at, stats)

    def save(self, touched: dict[bytes, tuple[CustomerState, int]], state: Sink) -> None:
        """One store write, one changelog record and one score snapshot per changed customer."""
        cache, partitions = self._cache, self.key_partitions
        for key, (customer, partition) in touched.items():
            data = compact(customer.to_bytes())
            self.store[key] = data
            partitions[key] = partition
            if self.cache_size:
                cache[key] = customer
                cache.move_to_end(key)  # most recent last
                if len(cache) > self.cache_size:
                    cache.popitem(last=False)
            state.add(self.topics.changelog, key, data, partition)
            state.add(self.topics.scores, key, snapshot_record(self.engine, customer))

    def _step(self, message: Any, touched: dict, effects: Sink, stats: BatchStats, now: float) -> StepResult | None:
        key = message.key
        event = validate_record(key, message.value, message.timestamp, self.max_future_seconds, fast=True)
        if isinstance(event, str):
            return self._reject(event, message, effects, stats)
        self.clock.hear(message.partition, now)
        loaded = self._load(key, touched, message.partition)
        result = self.engine.step(None if loaded is None else loaded[0], event)
        stats.observed.append((message.timestamp, event, result))
        if result.duplicate:
            stats.duplicates += 1
            return None
        touched[key] = (result.state, message.partition)
        for due_at, ticket_id in result.due:
            self.clock.note_due(due_at, event.customer_id, ticket_id, message.partition)
        self.clock.observe(message.partition, result.at)
        return result

    def _warn(self, event: Any, result: StepResult, key: bytes, effects: Sink, emitted_at: str,
              stats: BatchStats) -> None:
        """The agent warning goes out with the batch's alerts (effects: acknowledged first)."""
        warning = self.engine.warning_data(result.state, event, result)
        if warning is not None:
            effects.add(self.topics.warnings, key, warning_record(warning, emitted_at))
            stats.warnings += 1

    def _reject(self, reason: str, message: Any, effects: Sink, stats: BatchStats) -> None:
        stats.invalid += 1
        stats.reasons.append(reason)
        effects.add(self.topics.dlq, message.key, dead_letter_record(reason, message))
        return None

    def _emit(self, result: StepResult, key: bytes, effects: Sink, emitted_at: str, stats: BatchStats) -> None:
        for alert in result.alerts:
            effects.add(self.topics.alerts, *alert_record(alert, emitted_at))
        stats.alerts += len(result.alerts)
        if result.contact is not None:
            effects.add(self.topics.contacts, *contact_record(result.contact))

    def _load(self, key: bytes, touched: dict, partition: int) -> tuple[CustomerState, int] | None:
        loaded = touched.get(key)
        if loaded is not None:
            return loaded
        cached = self._cache.get(key)
        if cached is not None:
            return cached, partition
        data = self.store.get(key)
        if data is None:
            return None
        return CustomerState.from_bytes(data), partition
