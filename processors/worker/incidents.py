"""One batch of the contacts topic (repartitioned by service type) through the incident engine.

The ``detect_incidents`` agent reads the internal contacts topic, which the
``score_events`` agent writes keyed by service type, so one worker sees every contact of
a service type and the per-customer path never waits for this count.

Besides contacts, every scoring worker writes *marks* to every contacts partition: its
partition clocks of ``cx.events`` (``null`` for an idle partition), after the contacts it
wrote before them. A contacts partition's watermark is the smallest clock over every
partition of ``cx.events`` (a partition not reported yet holds it back; idle ones do not):
when a mark is read, every contact with a time before that watermark (less the late
tolerance) has been read from this contacts partition too, so the incident windows there
are decided by the orchestration core's watermark rule (``watermark_of``),
exactly as the replay's :class:`EngineDriver` decides them.

The watermark is never infinite: when every partition is idle it is the largest overall
clock the marks carried, and a watermark is remembered (as decided) only when finite. An
infinite one once decided every window "already past" after a broker restart, and an
incident of the burst read next was never raised.

Marks and decisions are held per contacts partition only while this worker owns it: a
rebalance forgets them for every partition it revokes (eager protocol: all of them, read
again from their committed offsets) and for every one the new assignment leaves out
(:meth:`IncidentProcessor.forget`, :meth:`IncidentProcessor.retain`). A partition is then
decided from its recovered state and the marks read after the rebalance, which come with
the scoring workers' next batch or SLA tick.
"""

import logging
from collections.abc import Iterable, MutableMapping
from math import inf
from typing import Any

from cxpulse.processors.engine import IncidentEngine, IncidentState, key_partition
from cxpulse.processors.engine.clocks import watermark_of
from cxpulse.processors.engine.state import NEVER

from .records import Sink, alert_record, compact, contact_from_bytes, mark_from_bytes

__all__ = ["IncidentProcessor"]

log = logging.getLogger(__name__)


class IncidentProcessor:
    """``store`` maps service type (bytes) to ``IncidentState.to_bytes()``.

    ``partitions`` is the contacts topic's partition count (to know which contacts
    partition a stored service type lives on).
    """

    def __init__(self, engine: IncidentEngine, store: MutableMapping[bytes, bytes], alerts_topic: str,
                 changelog_topic: str, partitions: int = 1) -> None:
        self.engine = engine
        self.store = store
        self.alerts_topic = alerts_topic
        self.changelog_topic = changelog_topic
        self.partitions = partitions
        self.marks: dict[int, dict[int, float]] = {}  # contacts partition -> source partition -> clock
        self.sources: dict[int, int | None] = {}  # contacts partition -> partition count of cx.events
        self.overall: dict[int, float] = {}  # contacts partition -> largest overall clock a mark carried
        self._decided: dict[int, float] = {}  # contacts partition -> watermark last applied
        self._partition_of: dict[bytes, int] = {}
        self.failed = 0  # contacts records that raised (skipped)
        self._failed_kinds: set[str] = set()
        # The decoded state of each service type beside the stored bytes it was saved as: a
        # busy service type holds thousands of contacts, and decoding them once per batch
        # was a quarter of the worker's time at 2,000 events/s. Valid while the store still
        # holds those very bytes (a recovery or another writer replaces them).
        self._live: dict[bytes, tuple[bytes, IncidentState]] = {}

    def forget(self, partitions: Iterable[int]) -> int:
        """Forget what was read from these contacts partitions (a rebalance took them away):
        their marks and idle claims, partition count, overall clock, decided watermark and
        cached states. Whoever reads a partition next (this worker again, or another) decides
        its windows from the recovered state and fresh marks only: a stale idle claim would
        decide a window before the contacts of a partition that is busy again were read, a
        stale watermark hold windows back. Returns how many cached states were dropped."""
        gone = set(partitions)
        for held in (self.marks, self.sources, self.overall, self._decided):
            for partition in gone:
                held.pop(partition, None)
        stale = [key for key in self._live if self._partition(key) in gone]
        for key in stale:
            del self._live[key]
        return len(stale)

    def retain(self, owned: Iterable[int]) -> int:
        """Keep what was read from the ``owned`` contacts partitions only (see :meth:`forget`)."""
        kept = set(owned)
        held = set(self.marks) | set(self.sources) | set(self.overall) | set(self._decided)
        held |= {self._partition(key) for key in self._live}
        return self.forget(held - kept)

    def watermark(self, partition: int) -> float:
        """The watermark of a contacts partition, from the marks read on it (never infinite)."""
        marks = self.marks.get(partition)
        if not marks:
            return NEVER
        count = self.sources.get(partition)
        sources = range(count) if count else marks.keys()
        return watermark_of((marks.get(p, NEVER) for p in sources), self.overall.get(partition, NEVER))

    def process(self, messages: Iterable[Any], effects: Sink, state: Sink, emitted_at: str,
                raised_alerts: list | None = None) -> int:
        """Add every contact, apply every mark; queue incident alerts on ``effects``, new
        states on ``state``. Returns the number of alerts raised (also appended to ``raised_alerts``)."""
        touched: dict[bytes, tuple[IncidentState, int]] = {}
        try:
            alerts = self._apply(messages, touched)
        except BaseException:
            self._live.clear()  # states may have changed in place without being saved
            raise
        for alert in alerts:
            effects.add(self.alerts_topic, *alert_record(alert, emitted_at))
        if alerts and raised_alerts is not None:
            raised_alerts.extend(alerts)
        for key, (incident, partition) in touched.items():
            data = compact(incident.to_bytes())
            self.store[key] = data
            self._live[key] = (data, incident)
            state.add(self.changelog_topic, key, data, partition)
        return len(alerts)

    def _apply(self, messages: Iterable[Any], touched: dict[bytes, tuple[IncidentState, int]]) -> list:
        alerts: list = []
        for message in messages:
            try:
                alerts += self._one(message, touched)
            except Exception as exc:  # one record never stops the agent (docs/rules.md, "Records that fail")
                self.failed += 1
                kind = type(exc).__name__
                if kind not in self._failed_kinds and len(self._failed_kinds) < 100:
                    self._failed_kinds.add(kind)
                    log.error("a contacts record raised %s: skipped, incident detection goes on (logged once per "
                              "kind)", kind)
        return alerts

    def _one(self, message: Any, touched: dict[bytes, tuple[IncidentState, int]]) -> list:
        mark = mark_from_bytes(message.value)
        if mark is not None:
            self._mark(message.partition, *mark)
            return self._decide(message.partition, touched)
        contact = contact_from_bytes(message.value)
        key = contact.service_type.encode("utf-8")
        current = self._load(key, touched, message.partition)
        new_state, found = self.engine.add(current[0], contact)
        touched[key] = (new_state, message.partition)
        return found

    def _mark(self, partition: int, clocks: dict[int, float], sources: int | None, overall: float | None) -> None:
        self.marks.setdefault(partition, {}).update(clocks)
        if sources:
            self.sources[partition] = sources
        if overall is not None and overall > self.overall.get(partition, NEVER):
            self.overall[partition] = overall

    def _decide(self, partition: int, touched: dict[bytes, tuple[IncidentState, int]]) -> list:
        """Decide the windows of every service type on ``partition`` up to its watermark."""
        watermark = self.watermark(partition)
        if not watermark < inf or watermark <= self._decided.get(partition, NEVER):
            return []  # (never infinite: watermark_of; and an infinite one is never remembered)
        self._decided[partition] = watermark
        found: list = []
        for key in self._keys(partition, touched):
            current = self._load(key, touched, partition)
            if current[0] is None:
                continue
            incident = current[0]
            before = (incident.done, len(incident.contacts), incident.last_fire)
            alerts = self.engine.advance(incident, watermark)
            if alerts or before != (incident.done, len(incident.contacts), incident.last_fire):
                touched[key] = (incident, partition)
            found += alerts
        return found

    def _keys(self, partition: int, touched: dict[bytes, tuple[IncidentState, int]]) -> list[bytes]:
        keys = [key for key in self.store.keys() if self._partition(key) == partition]
        return keys + [key for key, (_, p) in touched.items() if p == partition and key not in self.store]

    def _partition(self, key: bytes) -> int:
        partition = self._partition_of.get(key)
        if partition is None:
            partition = self._partition_of[key] = key_partition(key, self.partitions)
        return partition

    def _load(self, key: bytes, touched: dict, partition: int) -> tuple[IncidentState | None, int]:
        current = touched.get(key)
        if current is not None:
            return current
        self._partition_of[key] = partition
        data = self.store.get(key)
        if data is None:
            return None, partition
        live = self._live.get(key)
        if live is not None and live[0] is data:
            return live[1], partition
        return IncidentState.from_bytes(data), partition
