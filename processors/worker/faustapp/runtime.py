"""The worker's moving parts behind the thin agents: batches, the SLA sweep, the read model.

One :class:`WorkerRuntime` per app. Its methods are what the agents, the timer and the
web views call; they hold the one lock that keeps a batch and an SLA sweep from
interleaving (both change customer states and write the changelog).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Iterator
from functools import cached_property
from typing import Any

from cxpulse.processors.engine import CustomerState, Engine, IncidentEngine, key_partition
from cxpulse.schemas.safetext import one_line
from cxpulse.settings import Settings

from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.metrics import WorkerMetrics, worker_registry
from cxpulse.processors.worker.readmodel import customer_view
from cxpulse.processors.worker.records import now_rfc3339
from cxpulse.processors.worker.scoring import BatchStats, OutputTopics, ScoringProcessor
from cxpulse.processors.worker.statelog import is_delta_key, stored_state

from .writer import BatchWriter, RetryPolicy

__all__ = ["WorkerCounters", "WorkerRuntime"]

log = logging.getLogger(__name__)


class WorkerCounters:
    """Totals since start (counts only), shown by ``/healthz``."""

    __slots__ = ("events", "invalid", "duplicates", "redelivered", "alerts", "incidents", "batches", "warnings",
                 "write_retries")

    def __init__(self) -> None:
        self.events = self.invalid = self.duplicates = self.alerts = self.incidents = self.batches = 0
        self.redelivered = 0  # records read again that their customer's state had applied (in duplicates too)
        self.warnings = self.write_retries = 0  # write_retries: record batches sent again after a failed delivery

    def add(self, stats: BatchStats) -> None:
        self.batches += 1
        self.events += stats.events
        self.invalid += stats.invalid
        self.duplicates += stats.duplicates
        self.redelivered += stats.redelivered
        self.alerts += stats.alerts
        self.warnings += stats.warnings

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class WorkerRuntime:
    """Wires the engine to the app's tables and producer; built once, connects nothing."""

    def __init__(self, app: Any, settings: Settings, customers: Any, incidents: Any, contacts_topic: str,
                 registry: Any = None) -> None:
        self.app = app
        self.settings = settings
        self.customers = customers
        self.incidents = incidents
        self.contacts_topic = contacts_topic
        self.engine = Engine(settings.engine)
        self.clock = SlaClock(settings.engine.partition_idle_seconds)
        self.counters = WorkerCounters()
        self.idle_partitions = 0  # idle partitions as the last delivered mark reported them
        self.recovered = False  # the tables' recovery after the latest assignment has completed
        self._partition_counts: dict[str, int] = {}
        self.registry = registry if registry is not None else worker_registry()
        self.metrics = WorkerMetrics(self.registry, settings.metrics.service_types, self.engine.band,
                                     settings.worker.app_id)

    @cached_property
    def lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    @cached_property
    def scoring(self) -> ScoringProcessor:
        topics = self.settings.topics
        names = OutputTopics(alerts=topics.alerts, scores=topics.scores, dlq=topics.dlq,
                             contacts=self.contacts_topic, changelog=self.customers.changelog_topic.get_topic_name(),
                             warnings=topics.warnings)
        store = self.customers.data
        return ScoringProcessor(self.engine, names, store, self.clock, self.settings.validation.max_future_seconds,
                                self.settings.worker.state_cache, getattr(store, "_key_partition", None),
                                source_partitions=topics.partitions, contacts_partitions=topics.partitions,
                                delta_min_bytes=self.settings.worker.state_delta_min_bytes)

    @cached_property
    def incident_processor(self) -> IncidentProcessor:
        return IncidentProcessor(IncidentEngine(self.settings.engine), self.incidents.data,
                                 self.settings.topics.alerts, self.incidents.changelog_topic.get_topic_name(),
                                 self.settings.topics.partitions)

    @cached_property
    def limits(self) -> dict[str, int]:
        """``max.message.bytes`` of every topic the worker writes (the writer refuses larger records)."""
        from cxpulse.topics import DLQ_MAX_MESSAGE_BYTES, OUTPUT_MAX_MESSAGE_BYTES

        topics, changelog = self.settings.topics, self.settings.worker.changelog_max_message_bytes
        limits = {name: OUTPUT_MAX_MESSAGE_BYTES for name in (topics.alerts, topics.scores, topics.warnings,
                                                                self.contacts_topic)}
        limits[topics.dlq] = DLQ_MAX_MESSAGE_BYTES
        for table in (self.customers, self.incidents):
            limits[table.changelog_topic.get_topic_name()] = changelog
        return limits

    @cached_property
    def retry(self) -> RetryPolicy:
        worker = self.settings.worker
        return RetryPolicy(worker.write_retries, worker.write_retry_backoff_seconds)

    def writer(self) -> BatchWriter:
        return BatchWriter(self.app.producer._ensure_producer(), self._partition_counts, None, self.limits, self.retry)

    def writers(self) -> tuple[BatchWriter, BatchWriter]:
        """``(effects, state)`` for one batch; they share key hashes (alerts and snapshots)."""
        producer, hashes = self.app.producer._ensure_producer(), dict[bytes, int]()
        return (BatchWriter(producer, self._partition_counts, hashes, self.limits, self.retry),
                BatchWriter(producer, self._partition_counts, hashes, self.limits, self.retry))

    async def score_batch(self, events: Iterable[Any]) -> None:
        """Process one batch of ``cx.events`` (faust events)."""
        await self.score_messages([e.message for e in events])

    async def score_messages(self, messages: list[Any], deferred: list[Awaitable[Any]] | None = None) -> None:
        """Process one batch of ``cx.events`` records: effects delivered first, then the new state.

        The batch's records may be acked once this returns, or, with ``deferred``, once the
        awaitable appended to it (the broker's answer for the state records) has returned.
        """
        async with self.lock:
            started = time.perf_counter()
            effects, state = self.writers()
            stats = self.scoring.process(messages, effects, state, now_rfc3339())
            # A rebase makes the customer's old delta stale: its new base is confirmed before a
            # later batch may write a delta on it (statelog.py), so this batch's wait is not deferred.
            await self._write(effects, state, None if stats.rebased else deferred)
            self.idle_partitions = self.clock.reported_idle  # its mark is delivered
            self._observe(stats, started)
        self.counters.add(stats)
        if stats.invalid:
            # Reasons name the field and rule, never the value; one_line escapes what a record put in a field name.
            log.info("dead-lettered %d invalid record(s): %s", stats.invalid, one_line(stats.reasons[0]))

    async def detect_incidents(self, events: Iterable[Any]) -> None:
        """Process one batch of contacts from the repartition topic (faust events)."""
        await self.detect_messages([e.message for e in events])

    async def detect_messages(self, messages: list[Any], deferred: list[Awaitable[Any]] | None = None) -> None:
        """Process one batch of contacts records from the repartition topic (``deferred``: as :meth:`score_messages`)."""
        async with self.lock:
            started, alerts = time.perf_counter(), list[Any]()
            effects, state = self.writers()
            raised = self.incident_processor.process(messages, effects, state, now_rfc3339(), alerts)
            await self._write(effects, state, deferred)
            self.metrics.observe_incidents(alerts, time.perf_counter() - started)
        self.counters.incidents += raised

    async def sweep_sla(self) -> None:
        """Check overdue tickets at the stream clock (customers who went silent still breach)."""
        if self.app.rebalancing:
            return
        async with self.lock:
            started = time.perf_counter()
            effects, state = self.writers()
            touched: dict = {}
            stats = BatchStats(touched=touched)
            self.scoring.sweep(touched, effects, now_rfc3339(), stats)
            self.scoring.save(touched, state)
            await self._write(effects, state)
            self.idle_partitions = self.clock.reported_idle
            self._observe(stats, started, "check_sla")
        self.counters.alerts += stats.alerts

    def _observe(self, stats: BatchStats, started: float, agent: str = "score_events") -> None:
        self.metrics.observe_batch(stats.observed, stats.invalid, stats.touched, time.perf_counter() - started,
                                   time.time(), agent, stats.redelivered)
        if stats.failures:
            self.metrics.observe_failures(stats.failures)
        self.metrics.observe_state(len(self.clock), self.clock.now if self.clock.now > 0 else 0.0)

    async def _write(self, effects: BatchWriter, state: BatchWriter, deferred: list[Awaitable[Any]] | None = None) -> None:
        # Alerts, dead letters and contacts are acknowledged by the broker before the
        # changelog may say their events were seen; the changelog and scores are
        # acknowledged before the batch's records are acked (and so may be committed).
        # A write that fails after its retries raises WriteFailed: the worker stops.
        # ``deferred``: the wait for the state's answer is left to the caller (direct
        # delivery acks the batch after it, while the next batch is processed).
        # Score snapshots go with the effects: a changelog that says an event was seen while its
        # snapshot was lost would make the replayed event a duplicate, and the snapshot never come.
        effects.take(state, self.settings.topics.scores)
        self.counters.write_retries += await effects.deliver()
        sent = await state.send()
        if deferred is None:
            self.counters.write_retries += await state.confirm(sent)
        else:
            deferred.append(self._confirm(state, sent))

    async def _confirm(self, state: BatchWriter, sent: list) -> None:
        self.counters.write_retries += await state.confirm(sent)

    def on_partitions_revoked(self, revoked: Iterable[Any] = ()) -> None:
        """A rebalance began: sweep nobody until recovery says which partitions stay (eager protocol);
        forget the marks and decisions of the revoked contacts partitions (read again from their
        committed offsets by whoever owns them next)."""
        self.recovered = False
        self.scoring.suspend()
        self.incident_processor.forget(tp.partition for tp in revoked if tp.topic == self.contacts_topic)

    def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        """The new assignment: keep incident marks and decisions of assigned contacts partitions only."""
        self.incident_processor.retain(tp.partition for tp in assigned if tp.topic == self.contacts_topic)

    async def on_customers_recovered(self) -> None:
        """Drop customers of partitions now owned elsewhere; rebuild the stream clock and SLA index."""
        async with self.lock:
            owned = {tp.partition for tp in self._assigned() if tp.topic == self.settings.topics.events}
            dropped = self.scoring.retain(owned)
            tickets = self.clock.rebuild(self.metrics.recount(self._states(), owned), owned)
            self.metrics.observe_state(len(self.clock), self.clock.now if self.clock.now > 0 else 0.0)
            self.recovered = True
        log.info("SLA index rebuilt after recovery: %d ticket(s) with a due time; %d customer(s) of partitions "
                 "owned elsewhere dropped", tickets, dropped)

    def _states(self) -> Iterator[tuple[CustomerState, int]]:
        known = self.scoring.key_partitions
        partitions = self.customers.partitions or self.settings.topics.partitions
        store = self.customers.data
        for key, data in store.items():
            if is_delta_key(key):
                continue  # applied with its base
            partition = known.get(key)
            read = stored_state(self.engine, store, key, data)
            if read is not None:
                yield read[0], partition if partition is not None else key_partition(key, partitions)

    def _stored(self, customer_id: str) -> CustomerState | None:
        key = customer_id.encode("utf-8")
        if is_delta_key(key):
            return None  # an operation log, not a customer
        read = stored_state(self.engine, self.customers.data, key)
        return None if read is None else read[0]

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """The read API's view of one customer, or ``None`` when this worker has no state for it."""
        state = self._stored(customer_id)
        if state is None:
            return None
        return customer_view(self.engine, state)

    def brief(self, customer_id: str) -> dict[str, Any] | None:
        """The agent brief of one customer as of the stream's clock, or ``None`` when this worker has no state for it."""
        state = self._stored(customer_id)
        if state is None:
            return None
        now = self.clock.now
        body = self.engine.brief(state, max(state.ref, now) if now > 0 else None).model_dump(mode="json")
        body["emitted_at"] = now_rfc3339()
        return body

    def _assigned(self) -> set:
        return set(self.app.assignor.assigned_actives())

    def readiness(self) -> dict[str, Any]:
        """``/readyz``: ready once the group gave this worker its partitions and their state is recovered.

        Not ready before the first assignment, during a rebalance and while the changelog is
        read. A worker the group gave no partition (more replicas than partitions) is ready:
        it holds nothing to wait for, and a rolling update must not stall on it.
        """
        rebalancing = bool(self.app.rebalancing)
        events = set() if rebalancing else {tp for tp in self._assigned() if tp.topic == self.settings.topics.events}
        return {"ready": self.recovered and not rebalancing, "rebalancing": rebalancing, "recovered": self.recovered,
                "events_partitions": len(events)}

    def _customers_stored(self) -> int:
        store = self.customers.data
        return len(store) - sum(1 for key in store if is_delta_key(key))

    def health(self) -> dict[str, Any]:
        assigned = self._assigned() if not self.app.rebalancing else set()
        return {
            "status": "ok",
            "rebalancing": bool(self.app.rebalancing),
            "assigned_partitions": len(assigned),
            "stream_clock": self.clock.now if self.clock.now > 0 else None,
            "sla_index": len(self.clock),
            "idle_partitions": self.idle_partitions,
            "customers_stored": self._customers_stored(),
            "owned_partitions": sorted(self.scoring.owned) if self.scoring.owned is not None else None,
            **self.counters.as_dict(),
        }
