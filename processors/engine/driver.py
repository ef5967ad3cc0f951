"""The single-process pipeline: customer steps, partition clocks, SLA sweeps, incidents.

``cxpulse replay``, the customer timeline, the tests and the benchmark feed events
through :class:`EngineDriver` one at a time, in the order they were read. It applies the
live worker's clock semantics (:mod:`.clocks`): each partition has its own stream clock,
a customer's tickets breach by the clock of the customer's partition, an idle partition
follows the overall clock, and incidents are decided behind the watermark.
"""

from collections.abc import Callable, Hashable, Iterable

from cxpulse.schemas import Alert

from .clocks import INF, PartitionClocks
from .engine import Engine
from .incident import IncidentEngine, IncidentState
from .partitioner import key_partition
from .results import Contact, StepResult
from .settings import EngineSettings
from .state import NEVER, CustomerState

__all__ = ["EngineDriver", "StepHook"]

# Called after every event with (event, the customer's step result, every alert it caused:
# the customer's, SLA breaches of other customers found by the advancing clock, incidents).
StepHook = Callable[[object, StepResult, list[Alert]], None]

IDLE_CHECK_EVERY = 1.0  # seconds of record time between two looks for idle partitions (the worker's timer)
# Seconds of event time between two looks at the watermark. When a window is decided does
# not change the result (only which fed event the alert is reported with); each look costs
# a pass over every service type's undecided window.
INCIDENT_CHECK_EVERY = 60.0


class EngineDriver:
    """Feeds events through :class:`Engine` and :class:`IncidentEngine` in one process.

    ``feed(event, partition, received)``: ``partition`` is the Kafka partition the event
    was read from; without one, with ``partitions`` set, the partition Kafka's default
    partitioner gives the customer id (so a plain event file replays like the topic it
    was produced to); else every event is on one stream. ``received`` is when the record
    was read (its Kafka timestamp, in seconds): it lets idle partitions be found as the
    worker finds them by wall time.
    """

    def __init__(self, settings: EngineSettings | None = None, *, on_step: StepHook | None = None,
                 keep_alerts: bool = True, partitions: int | None = None) -> None:
        self.engine = Engine(settings)
        self.settings = self.engine.settings
        self.incidents = IncidentEngine(self.settings)
        self.states: dict[str, CustomerState] = {}
        self.incident_states: dict[str, IncidentState] = {}
        self.clocks = PartitionClocks(self.settings.partition_idle_seconds)
        self.partitions = partitions
        self.alerts: list[Alert] = []
        self.events = 0
        self.duplicates = 0
        self.on_step = on_step
        self.keep_alerts = keep_alerts
        self._late = float(self.settings.incident_late_tolerance_seconds)
        self._partition_of: dict[str, int] = {}
        self._idle_check_at = NEVER
        self._incident_next = INF  # earliest undecided contact time (a lower bound)
        self._incident_check_at = NEVER

    @property
    def clock(self) -> float:
        """The overall stream clock: the largest ``occurred_at`` seen on any partition."""
        return self.clocks.overall

    @classmethod
    def restore(cls, settings: EngineSettings | None, states: Iterable[CustomerState],
                incident_states: Iterable[IncidentState] = (), clock: float = NEVER,
                **kwargs) -> "EngineDriver":
        """A driver that continues from saved states (clocks and SLA index are rebuilt from them)."""
        driver = cls(settings, **kwargs)
        clocks = driver.clocks
        for state in states:
            driver.states[state.customer_id] = state
            clocks.load(driver._partition(state.customer_id), state)
        if driver.partitions is None:  # one stream: its clock is the saved clock
            clocks.observe(None, clock)
        clocks.overall = max(clocks.overall, clock)
        driver.incident_states = {s.service_type: s for s in incident_states}
        driver._incident_next = driver._next_undecided()
        return driver

    def feed(self, event, partition: Hashable | None = None, received: float | None = None) -> list[Alert]:
        """Process one event; returns every alert it caused (empty for a duplicate)."""
        self.events += 1
        cid = event.customer_id
        if partition is None and self.partitions:
            partition = self._partition(cid)
        result = self.engine.step(self.states.get(cid), event)
        alerts = result.alerts
        clocks = self.clocks
        if received is not None:
            clocks.hear(partition, received)
            if received >= self._idle_check_at:
                alerts = alerts + self._idle(received)
        if result.duplicate:
            self.duplicates += 1
        else:
            self.states[cid] = result.state
            for due, tid in result.due:
                clocks.note_due(partition, due, cid, tid)
            clocks.observe(partition, result.at)
            if clocks.due(partition):
                alerts = alerts + self._sweep(partition)
            contact = result.contact
            if contact is not None:
                found = self._contact(contact)
                if found:
                    alerts = alerts + found
            if clocks.overall >= self._incident_check_at:
                found = self._decide_incidents()
                if found:
                    alerts = alerts + found
        if self.on_step is not None:
            self.on_step(event, result, alerts)
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def advance(self, clock: float, partition: Hashable | None = None) -> list[Alert]:
        """Move a partition's clock (every partition's, when ``None``) to ``clock``; returns
        the breaches found. The clock never goes back. For a caller that reads event times
        it does not feed, e.g. the timeline (other customers' events on the partition)."""
        alerts = self._advance(clock, partition)
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def _advance(self, clock: float, partition: Hashable | None = None) -> list[Alert]:
        clocks = self.clocks
        targets = [partition] if partition is not None else (list(clocks.partitions()) or [None])
        alerts: list[Alert] = []
        for target in targets:
            clocks.observe(target, clock)
            if clocks.due(target):
                alerts += self._sweep(target)
        return alerts

    def finish(self, until: float | None = None) -> list[Alert]:
        """The end of the stream, as a worker that has gone quiet sees it: every partition's
        tickets are checked at the overall clock (or ``until``, e.g. the end of a replay
        range, when later) and every incident window is decided."""
        end = self.clocks.overall if until is None else max(self.clocks.overall, until)
        alerts = self._advance(end)
        for state in self.incident_states.values():
            alerts += self.incidents.advance(state, INF)
        self._incident_next = self._next_undecided()
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def _partition(self, customer_id: str) -> int | None:
        if not self.partitions:
            return None
        partition = self._partition_of.get(customer_id)
        if partition is None:
            partition = self._partition_of[customer_id] = key_partition(customer_id.encode("utf-8"), self.partitions)
        return partition

    def _sweep(self, partition: Hashable) -> list[Alert]:
        found: list[Alert] = []
        clock, due = self.clocks.pop_due(partition)
        for cid in due:
            state = self.states.get(cid)
            # Entries are never deleted when a ticket closes early: most are stale.
            if state is not None and state.due_min < clock:
                found += self.engine.check_sla(state, clock).alerts
        return found

    def _idle(self, received: float) -> list[Alert]:
        """Idle partitions (nothing read for ``partition_idle_seconds`` of record time) follow
        the overall clock; looked at once per second of record time, like the worker's timer."""
        self._idle_check_at = received + IDLE_CHECK_EVERY
        found: list[Alert] = []
        for partition in self.clocks.refresh(received):
            if self.clocks.due(partition):
                found += self._sweep(partition)
        return found

    def _contact(self, contact: Contact) -> list[Alert]:
        svc = contact.service_type
        state, alerts = self.incidents.add(self.incident_states.get(svc), contact)
        self.incident_states[svc] = state
        if contact.occurred_at < self._incident_next:
            self._incident_next = contact.occurred_at
        return alerts

    def _decide_incidents(self) -> list[Alert]:
        """Decide the incident windows the watermark has passed (when is irrelevant to the result)."""
        self._incident_check_at = self.clocks.overall + INCIDENT_CHECK_EVERY
        watermark = self.clocks.watermark()
        if self._incident_next >= watermark - self._late:
            return []
        found: list[Alert] = []
        upto = watermark - self._late
        for state in self.incident_states.values():
            if state.next_moment() < upto:
                found += self.incidents.advance(state, watermark)
        self._incident_next = self._next_undecided()
        return found

    def _next_undecided(self) -> float:
        """The earliest moment an incident state still has to decide (``INF``: none)."""
        return min((s.next_moment() for s in self.incident_states.values()), default=INF)
