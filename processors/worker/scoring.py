"""One batch of ``cx.events`` records through the engine: the work of the ``score_events`` agent.

Per batch, and in this order:

1. every record is validated (``parse_event``; the "moment it is read" for the
   future-timestamp rule is the Kafka record's timestamp, so a replay of the same
   records gives the same verdict); an invalid one becomes a dead letter;
2. valid events go through the orchestration core (:class:`Orchestrator`, the code the
   replay's ``EngineDriver`` runs): the customer's state steps (duplicates change
   nothing), the clock of its partition moves (no further than the record's timestamp
   plus ``engine.stream_clock_lead_seconds``) and sweeps that partition's customers whose
   tickets are overdue by more than ``engine.sla_grace_seconds``; contacts go to the
   incident agent (this worker's incident route); at the end of the batch, idle
   partitions follow the overall clock (``clock.py``);
3. a record whose processing raises anything (``RecordFailed``) is dead-lettered with the
   exception's type and message, counted, and the batch goes on;
4. alerts, dead letters, contacts for the incident agent and, when the partition clocks
   changed, one *mark* per contacts partition (the clocks, for the incident watermark) go
   to ``effects``; then, per changed customer, one new state for the table (store +
   changelog; for a busy customer, the operations since its last whole write: ``statelog.py``)
   and one score snapshot go to ``state``.

The caller delivers ``effects`` before it sends ``state``: the changelog never says an
event was seen while that event's alert could still be lost (see docs/reliability.md).
"""

import logging
from collections import OrderedDict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from cxpulse.processors.engine import Contact, CustomerState, Engine, Orchestrator, RecordFailed, StepResult
from cxpulse.processors.engine.clocks import PartitionClocks
from cxpulse.processors.engine.orchestration import failure_reason

from .clock import SlaClock
from .statelog import Delta, crc, delta_key, delta_record, event_op, parse_delta, sla_op, stored_state, wants_rebase
from .records import (Sink, alert_record, compact, contact_record, dead_letter_record, mark_record, snapshot_record,
                      warning_record)
from cxpulse.processors.validation import KEY_MISMATCH, validate_record

log = logging.getLogger(__name__)

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
    failed: int = 0  # valid records whose processing raised (dead-lettered too, also counted in invalid)
    redelivered: int = 0  # records read again that their customer's stored state had applied (also in duplicates)
    deltas: int = 0  # changed customers written as their base's operation log (statelog.py), not whole
    rebased: int = 0  # customers whose base was written again while their delta held operations
    reasons: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # the exception type of each failed record
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

    ``delta_min_bytes`` (``worker.state_delta_min_bytes``; 0: off): a customer whose stored
    state is at least that long is written as its base's operation log (``statelog.py``)
    until rebasing pays; the store then holds a second key per such customer.
    """

    def __init__(self, engine: Engine, topics: OutputTopics, store: MutableMapping[bytes, bytes],
                 clock: SlaClock, max_future_seconds: float, cache_size: int = 0,
                 key_partitions: MutableMapping[bytes, int] | None = None, *,
                 source_partitions: int | None = None, contacts_partitions: int = 1,
                 delta_min_bytes: int = 0) -> None:
        self.engine = engine
        self.delta_min_bytes = delta_min_bytes
        # Customers whose base takes a delta: what the store holds besides the base (kept for the
        # cached customers only; rebuilt from the store on a miss), and this batch's new ops.
        self._deltas: dict[bytes, Delta] = {}
        self._ops: dict[bytes, list[bytes]] = {}
        self._dirty: set[bytes] = set()  # a record failed on them this batch: written whole
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
        clock.configure(engine.settings)
        self._store = _BatchStore(self)
        self._route = _ContactsRoute(self)
        self.core = Orchestrator(_Recorder(self) if delta_min_bytes else engine, self._store, self._route,
                                 clock.clocks)
        self.failed_kinds: set[str] = set()  # exception types logged once already
        self._decoded: tuple[bytes, CustomerState] | None = None  # the state the redelivery check decoded

    def suspend(self) -> None:
        """Partitions are being revoked: own nothing (no sweep) until :meth:`retain` says what is kept."""
        self.owned = frozenset()
        self._forget()

    def retain(self, owned: Iterable[int]) -> int:
        """Own ``owned`` partitions only: drop every other customer from the store; returns how many."""
        self.owned = frozenset(owned)
        self._forget()
        gone = [key for key, partition in self.key_partitions.items() if partition not in self.owned]
        for key in gone:
            self.store.pop(key, None)
            del self.key_partitions[key]
        return len(gone)

    def _forget(self) -> None:
        self._cache.clear()
        self._deltas.clear()
        self._ops.clear()
        self._dirty.clear()

    def process(self, messages: Iterable[Any], effects: Sink, state: Sink, emitted_at: str) -> BatchStats:
        """Run one batch of faust messages (``key``, ``value``, ``topic``, ``partition``,
        ``offset``, ``timestamp``); queue its records on ``effects`` and ``state``."""
        stats = BatchStats()
        touched: dict[bytes, tuple[CustomerState, int]] = {}
        self._begin(touched, effects)
        now, core = self.clock.wall(), self.core
        for message in messages:
            stats.events += 1
            key = message.key
            event = validate_record(key, message.value, message.timestamp, self.max_future_seconds, fast=True)
            if isinstance(event, str):
                self._reject(event, message, effects, stats)
                continue
            partition, offset = message.partition, message.offset
            if self._applied(key, partition, offset):
                # Read again (a rebalance or a restart before its offset was committed): the
                # stored state already holds it, and its effects went out before that state.
                self._decoded = None
                core.clocks.hear(partition, now)
                stats.duplicates += 1
                stats.redelivered += 1
                continue
            observed = len(stats.observed)
            try:
                result = core.step(event, partition, message.timestamp, now)
                stats.observed.append((message.timestamp, event, result))
                if result.duplicate:
                    stats.duplicates += 1
                else:
                    result.state.source = (partition, offset)  # saved with the state: applied up to here
                    if key in self._deltas:
                        self._ops.setdefault(key, []).append(event_op(partition, offset, message.value))
                    self._emit(result, key, effects, emitted_at, stats)
                    if event.event_type == "contact_started" and self.topics.warnings is not None:
                        self._warn(event, result, key, effects, emitted_at, stats)
            except Exception as exc:  # RecordFailed from the core, or this worker's own output code
                del stats.observed[observed:]  # a dead letter, not a processed event
                self._fail(exc, message, effects, stats)
            finally:
                self._decoded = None
            if core.breaches:
                self._breaches(effects, emitted_at, stats)
        self.sweep(touched, effects, emitted_at, stats)
        self.save(touched, state, stats)
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
        self._begin(touched, effects)
        try:
            self.core.tick(self.clock.wall(), owned)
        except Exception as exc:  # a stored state that cannot be checked must not stop the timer
            self._log_failure(type(exc).__name__, "SLA sweep")
        if self.core.breaches:
            self._breaches(effects, emitted_at, stats)

    def _begin(self, touched: dict[bytes, tuple[CustomerState, int]], effects: Sink) -> None:
        """The core's store and route write to this batch's changed customers and effects."""
        self._store.touched = touched
        self._route.effects = effects

    def _breaches(self, effects: Sink, emitted_at: str, stats: BatchStats) -> None:
        """Other customers' tickets the clocks breached: their alerts, after the record's own."""
        for customer_id, result in self.core.breaches:
            stats.observed.append((None, None, result))
            self._emit(result, customer_id.encode("utf-8"), effects, emitted_at, stats)
        self.core.breaches.clear()

    def save(self, touched: dict[bytes, tuple[CustomerState, int]], state: Sink,
             stats: BatchStats | None = None) -> None:
        """One store write, one changelog record and one score snapshot per changed customer.

        The record is the whole state, or, for a customer whose base takes a delta, the
        operation log since the base under :func:`~.statelog.delta_key` (``statelog.py``).
        """
        partitions, deltas, ops, dirty = self.key_partitions, self._deltas, self._ops, self._dirty
        self._decoded = None  # the store changes: nothing decoded before stays true
        changelog, keep = self.topics.changelog, self.cache_size
        for key, (customer, partition) in touched.items():
            delta = deltas.get(key)
            if delta is not None:
                new = ops.pop(key, None)
                if new and key not in dirty and not wants_rebase(delta.base_len, len(delta.ops) + len(new),
                                                                    delta.nbytes + sum(map(len, new))):
                    delta.ops += new
                    delta.nbytes += sum(map(len, new))
                    data, written = delta_record(delta), delta_key(key)
                    self.store[written] = data
                    partitions[written] = partition
                    state.add(changelog, written, data, partition)
                    if stats is not None:
                        stats.deltas += 1
                    if not keep:
                        del deltas[key]  # read again from the store at the next batch
                    self._keep(key, customer)
                    state.add(self.topics.scores, key, snapshot_record(self.engine, customer))
                    continue
                if delta.ops and stats is not None:
                    stats.rebased += 1  # its old delta goes stale: the new base must be durable first
            elif stats is not None and self._live_delta(key):
                stats.rebased += 1  # not known here (evicted from the cache in this loop): the same
            data = compact(customer.to_bytes())
            self.store[key] = data
            partitions[key] = partition
            if self.delta_min_bytes and len(data) >= self.delta_min_bytes and keep:
                deltas[key] = Delta(crc(data), len(data))
            elif delta is not None:
                del deltas[key]
            self._keep(key, customer)
            state.add(changelog, key, data, partition)
            state.add(self.topics.scores, key, snapshot_record(self.engine, customer))
        ops.clear()
        dirty.clear()

    def _live_delta(self, key: bytes) -> bool:
        """Whether the store holds a delta with operations on the customer's stored base."""
        store = self.store
        stored = store.get(delta_key(key))
        base = store.get(key) if stored is not None else None
        if stored is None or base is None:
            return False
        try:
            base_crc, ops = parse_delta(stored)
        except ValueError:
            return False
        return bool(ops) and base_crc == crc(base)

    def _keep(self, key: bytes, customer: CustomerState) -> None:
        if self.cache_size:
            cache = self._cache
            cache[key] = customer
            cache.move_to_end(key)  # most recent last
            if len(cache) > self.cache_size:
                evicted, _ = cache.popitem(last=False)
                self._deltas.pop(evicted, None)

    def _warn(self, event: Any, result: StepResult, key: bytes, effects: Sink, emitted_at: str,
              stats: BatchStats) -> None:
        """The agent warning goes out with the batch's alerts (effects: acknowledged first)."""
        warning, topic = self.engine.warning_data(result.state, event, result), self.topics.warnings
        if warning is not None and topic is not None:
            effects.add(topic, key, warning_record(warning, emitted_at))
            stats.warnings += 1

    def _reject(self, reason: str, message: Any, effects: Sink, stats: BatchStats) -> None:
        stats.invalid += 1
        stats.reasons.append(reason)
        effects.add(self.topics.dlq, message.key, dead_letter_record(reason, message))
        return None

    def _fail(self, exc: Exception, message: Any, effects: Sink, stats: BatchStats) -> None:
        """A valid record whose processing raised: a dead letter with a value-free reason."""
        failure = exc if isinstance(exc, RecordFailed) else None
        kind = failure.kind if failure is not None else type(exc).__name__
        reason = failure.reason if failure is not None else failure_reason(exc)
        self._cache.pop(message.key, None)  # its live object may be half-changed: the store stays the truth
        if message.key is not None:
            self._dirty.add(message.key)  # what was saved of it is written whole
        stats.failed += 1
        stats.failures.append(kind)
        self._reject(reason, message, effects, stats)
        self._log_failure(kind, "record")

    def _log_failure(self, kind: str, what: str) -> None:
        """Once per exception type: the type only (never a record's values)."""
        if kind not in self.failed_kinds and len(self.failed_kinds) < 100:
            self.failed_kinds.add(kind)
            log.error("processing a %s raised %s: dead-lettered, processing goes on (logged once per kind; "
                      "see cxpulse_records_failed_total)", what, kind)

    def _emit(self, result: StepResult, key: bytes, effects: Sink, emitted_at: str, stats: BatchStats) -> None:
        for alert in result.alerts:
            effects.add(self.topics.alerts, *alert_record(alert, emitted_at))
        stats.alerts += len(result.alerts)

    def _applied(self, key: bytes, partition: int, offset: int) -> bool:
        """Whether the customer's state says it applied this record of ``partition`` already.

        A state remembers the position of the last record applied to it, in the same changelog
        record (``CustomerState.source``); a customer's records come in offset order on one
        partition, so one at or before that position was applied, however many came after it.
        A position on another partition (the topic was given more partitions) says nothing.
        """
        loaded = self._load(key, self._store.touched, partition)
        if loaded is None:
            return False
        source = loaded[0].source
        return source is not None and source[0] == partition and offset <= source[1]

    def _load(self, key: bytes, touched: dict, partition: int) -> tuple[CustomerState, int] | None:
        loaded = touched.get(key)
        if loaded is not None:
            return loaded
        cached = self._cache.get(key)
        if cached is not None:
            return cached, partition
        decoded = self._decoded
        if decoded is not None and decoded[0] == key:
            return decoded[1], partition  # decoded for the redelivery check of this record
        read = stored_state(self.engine, self.store, key, None, self.delta_min_bytes)
        if read is None:
            return None
        state, delta = read
        if delta is not None:
            self._deltas[key] = delta
        else:
            self._deltas.pop(key, None)
        self._decoded = (key, state)
        return state, partition


class _Recorder:
    """The engine as the worker's core calls it: SLA checks that change a delta customer are logged."""

    __slots__ = ("processor", "engine", "settings", "step")

    def __init__(self, processor: ScoringProcessor) -> None:
        self.processor = processor
        self.engine = processor.engine
        self.settings = processor.engine.settings
        self.step = processor.engine.step  # events are logged by the processor, with their positions

    def check_sla(self, state: CustomerState, clock: float) -> StepResult:
        processor = self.processor
        key = state.customer_id.encode("utf-8")
        try:
            result = self.engine.check_sla(state, clock)
        except Exception:
            processor._dirty.add(key)
            processor._cache.pop(key, None)
            raise
        if result.signals and key in processor._deltas:
            op = sla_op(clock)
            if op is None:
                processor._dirty.add(key)
            else:
                processor._ops.setdefault(key, []).append(op)
        return result


class _BatchStore:
    """The core's store in the worker: the batch's changed customers, the cache, the table."""

    __slots__ = ("processor", "touched")

    def __init__(self, processor: ScoringProcessor) -> None:
        self.processor = processor
        self.touched: dict[bytes, tuple[CustomerState, int]] = {}

    def load(self, customer_id: str, partition: Any) -> CustomerState | None:
        loaded = self.processor._load(customer_id.encode("utf-8"), self.touched, partition)
        return None if loaded is None else loaded[0]

    def save(self, customer_id: str, state: CustomerState, partition: Any) -> None:
        self.touched[customer_id.encode("utf-8")] = (state, partition)


class _ContactsRoute:
    """The core's incident route in the worker: contacts and marks to the contacts topic,
    decided behind the marks by the ``detect_incidents`` agent (``incidents.py``)."""

    __slots__ = ("processor", "effects", "check_at")

    def __init__(self, processor: ScoringProcessor) -> None:
        self.processor = processor
        self.effects: Sink | None = None
        self.check_at = float("inf")  # nothing to do per event: marks go out in ticked

    def contact(self, contact: Contact) -> list:
        if self.effects is not None:
            self.effects.add(self.processor.topics.contacts, *contact_record(contact))
        return []

    def stepped(self, clocks: PartitionClocks) -> list:
        return []  # marks go out once per batch and timer tick (ticked)

    def ticked(self, clocks: PartitionClocks, owned: frozenset[int] | None) -> list:
        processor = self.processor
        marks = processor.clock.marks()
        if marks is not None and self.effects is not None:
            if owned is not None:
                marks = {p: c for p, c in marks.items() if p in owned}
            value = mark_record(marks, processor.source_partitions, clocks.overall)
            for partition in range(processor.contacts_partitions):
                self.effects.add(processor.topics.contacts, None, value, partition)
        return []

    def finish(self, clocks: PartitionClocks) -> list:
        return []
