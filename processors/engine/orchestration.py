"""The one orchestration core around the engine: partition clocks, SLA sweeps, incident routing.

The live worker (``processors/worker/scoring.py``) and every single-process reader
(:class:`~.driver.EngineDriver`: replay, the timeline, the backtest, the benchmark) drive
:class:`Engine` through :class:`Orchestrator`, so a replay of what the worker read gives
the same alerts. What differs between them is injected:

- the **store** of customer states (:class:`StateStore`): a dict in a replay, the worker's
  table (bytes, a cache of live objects and the batch's changed customers) live;
- the **clock source**: the caller passes ``now`` (when a record was read, for idleness:
  wall time in the worker, record time in a replay) and ``record_time`` (the record's
  Kafka timestamp, which bounds how far one event moves a clock, see :mod:`.clocks`);
- the **incident routing** (:class:`IncidentRoute`): counted in this process and decided
  behind this reader's watermark (:class:`InlineIncidents`), or sent to the contacts topic
  with the clocks as marks (the worker's route, decided by ``processors/worker/incidents.py``
  with :func:`decide_incidents`).

**No record stops the pipeline** (docs/rules.md, "Records that fail"): an unexpected
exception while one event is processed is raised as :class:`RecordFailed`, with a
value-free reason (the exception's type and message); the worker dead-letters the record,
the replay counts it as a dead letter, and both go on with the next record.

Pure: no Kafka, no faust, no wall clock.
"""

from collections.abc import Hashable, Iterable, MutableMapping
from typing import Any, Protocol

from cxpulse.schemas import Alert
from cxpulse.schemas.safetext import one_line

from .clocks import INF, PartitionClocks
from .engine import Engine
from .incident import IncidentEngine, IncidentState
from .results import Contact, StepResult
from .settings import EngineSettings
from .state import NEVER, CustomerState

__all__ = ["DictStore", "IncidentRoute", "InlineIncidents", "Orchestrator", "RecordFailed", "StateStore",
           "StepEngine", "clocks_for", "decide_incidents", "failure_reason"]

# Seconds of event time between two looks at the watermark by :class:`InlineIncidents`. When a
# window is decided does not change the result (only which fed event the alert is reported
# with); each look costs a pass over every service type's undecided window.
INCIDENT_CHECK_EVERY = 60.0


def failure_reason(exc: BaseException) -> str:
    """The dead-letter reason of a record whose processing raised ``exc``: its type and message
    (one line, bounded), never the record's values."""
    message = one_line(str(exc), 160)
    kind = type(exc).__name__
    return f"processing failed: {kind}: {message}" if message else f"processing failed: {kind}"


class RecordFailed(Exception):
    """Processing one record raised ``cause``: dead-letter the record with :attr:`reason`, go on.

    ``kind`` is the exception's type name (for the metric and the once-per-kind log line);
    ``alerts``: what other customers' breaches the record's clock found before the failure
    (their states changed: the caller reports them as usual).
    """

    def __init__(self, cause: BaseException) -> None:
        self.kind = type(cause).__name__
        self.reason = failure_reason(cause)
        self.alerts: list[Alert] = []
        super().__init__(self.reason)


class StepEngine(Protocol):
    """What the core calls of the engine: :class:`Engine` itself, or an object wrapping it (a
    test injecting a fault: the engine is a compiled class, which Python classes cannot extend)."""

    settings: EngineSettings

    def step(self, state: CustomerState | None, event: Any) -> StepResult: ...

    def check_sla(self, state: CustomerState, clock: float) -> StepResult: ...


class StateStore(Protocol):
    """Where the core finds and keeps customer states."""

    def load(self, customer_id: str, partition: Hashable) -> CustomerState | None: ...

    def save(self, customer_id: str, state: CustomerState, partition: Hashable) -> None: ...


class DictStore:
    """Customer states in a dict (a replay keeps every one in memory)."""

    __slots__ = ("states",)

    def __init__(self, states: MutableMapping[str, CustomerState] | None = None) -> None:
        self.states: MutableMapping[str, CustomerState] = states if states is not None else {}

    def load(self, customer_id: str, partition: Hashable) -> CustomerState | None:
        return self.states.get(customer_id)

    def save(self, customer_id: str, state: CustomerState, partition: Hashable) -> None:
        self.states[customer_id] = state


class IncidentRoute(Protocol):
    """Where contacts go and when incidents are decided; each method returns the alerts raised here.

    ``check_at``: :meth:`stepped` is called only once the overall clock reaches it (``INF``: never).
    """

    check_at: float

    def contact(self, contact: Contact) -> list[Alert]: ...

    def stepped(self, clocks: PartitionClocks) -> list[Alert]:
        """After every event that moved the clocks (cheap: usually nothing to do)."""
        ...

    def ticked(self, clocks: PartitionClocks, owned: frozenset[int] | None) -> list[Alert]:
        """After a look at idle partitions (the worker's timer, the end of a batch)."""
        ...

    def finish(self, clocks: PartitionClocks) -> list[Alert]:
        """The end of the stream."""
        ...


def decide_incidents(engine: IncidentEngine, states: Iterable[IncidentState], watermark: float) -> list[Alert]:
    """Decide every incident window of ``states`` before ``watermark`` (less the late
    tolerance). An infinite or NaN watermark decides nothing: it would decide windows that
    contacts still in flight belong to (issue: an incident lost after a broker restart)."""
    if not watermark < INF or watermark != watermark:
        return []
    upto = watermark - engine.settings.incident_late_tolerance_seconds
    found: list[Alert] = []
    for state in states:
        if state.next_moment() < upto:
            found += engine.advance(state, watermark)
    return found


class InlineIncidents:
    """Incidents counted in this process and decided behind its own watermark (replay)."""

    __slots__ = ("engine", "states", "check_at", "_late", "_next")

    def __init__(self, engine: IncidentEngine, states: dict[str, IncidentState] | None = None) -> None:
        self.engine = engine
        self.states: dict[str, IncidentState] = states if states is not None else {}
        self._late = float(engine.settings.incident_late_tolerance_seconds)
        self._next = self._next_undecided()  # earliest undecided contact time (a lower bound)
        self.check_at = NEVER

    def contact(self, contact: Contact) -> list[Alert]:
        svc = contact.service_type
        state, alerts = self.engine.add(self.states.get(svc), contact)
        self.states[svc] = state
        if contact.occurred_at < self._next:
            self._next = contact.occurred_at
        return alerts

    def stepped(self, clocks: PartitionClocks) -> list[Alert]:
        self.check_at = clocks.overall + INCIDENT_CHECK_EVERY
        watermark = clocks.watermark()
        if self._next >= watermark - self._late:
            return []
        found = decide_incidents(self.engine, self.states.values(), watermark)
        self._next = self._next_undecided()
        return found

    def ticked(self, clocks: PartitionClocks, owned: frozenset[int] | None) -> list[Alert]:
        return []

    def finish(self, clocks: PartitionClocks) -> list[Alert]:
        """Every window decided: nothing more will be read."""
        found: list[Alert] = []
        for state in self.states.values():
            found += self.engine.advance(state, INF)
        self._next = self._next_undecided()
        return found

    def _next_undecided(self) -> float:
        return min((s.next_moment() for s in self.states.values()), default=INF)


def clocks_for(settings: EngineSettings, idle_after: float | None = None) -> PartitionClocks:
    """Partition clocks with the settings' idle period, clock lead and SLA grace."""
    return PartitionClocks(settings.partition_idle_seconds if idle_after is None else idle_after,
                           lead=settings.stream_clock_lead_seconds, grace=settings.sla_grace_seconds)


class Orchestrator:
    """Steps customers, moves partition clocks, sweeps SLA breaches, routes contacts.

    After :meth:`step`, :meth:`tick`, :meth:`advance` or :meth:`finish`, ``breaches`` holds
    ``(customer_id, StepResult)`` of every other customer whose tickets the clocks breached
    and ``raised`` every incident alert; the caller takes them (and empties the lists).
    """

    __slots__ = ("engine", "store", "route", "clocks", "breaches", "raised", "_states")

    def __init__(self, engine: StepEngine, store: StateStore, route: IncidentRoute,
                 clocks: PartitionClocks | None = None) -> None:
        self.engine = engine
        self.store = store
        self.route = route
        self.clocks = clocks if clocks is not None else clocks_for(engine.settings)
        self.breaches: list[tuple[str, StepResult]] = []
        self.raised: list[Alert] = []
        self._states = store.states if isinstance(store, DictStore) else None

    def step(self, event, partition: Hashable, record_time: float | None = None,
             now: float | None = None) -> StepResult:
        """Process one valid event read from ``partition`` (at ``now``, written at ``record_time``).

        Raises :class:`RecordFailed` when anything raises: the caller dead-letters the record.
        """
        try:
            clocks = self.clocks
            if now is not None:
                clocks.hear(partition, now)
            cid = event.customer_id
            states = self._states
            engine = self.engine
            if states is not None:  # a DictStore: its dict, without two calls per event
                state = states.get(cid)
                # The same call either way; typed as the compiled Engine, it is a direct call
                # (not a method looked up by name, its arguments boxed and parsed).
                if isinstance(engine, Engine):
                    result = engine.step(state, event)
                else:
                    result = engine.step(state, event)
                if result.duplicate:
                    return result
                states[cid] = result.state
            else:
                store = self.store
                result = engine.step(store.load(cid, partition), event)
                if result.duplicate:
                    return result
                store.save(cid, result.state, partition)
            for due, tid in result.due:
                clocks.note_due(partition, due, cid, tid)
            clocks.observe(partition, result.at, record_time)
            if clocks.due(partition):
                self._sweep(partition)
            route = self.route
            contact = result.contact
            if isinstance(route, InlineIncidents):  # the replay's route: direct calls, as above
                if contact is not None:
                    found = route.contact(contact)
                    if found:
                        self.raised += found
                if clocks.overall >= route.check_at:
                    found = route.stepped(clocks)
                    if found:
                        self.raised += found
                return result
            if contact is not None:
                found = route.contact(contact)
                if found:
                    self.raised += found
            if clocks.overall >= route.check_at:
                found = route.stepped(clocks)
                if found:
                    self.raised += found
            return result
        except RecordFailed:
            raise
        except Exception as exc:
            raise RecordFailed(exc) from exc

    def tick(self, now: float | None, owned: frozenset[int] | None = None, every: bool = True) -> None:
        """Partitions silent since ``now - partition_idle_seconds`` become idle and follow the
        overall clock; every (owned) partition's overdue tickets breach — or, with ``every``
        false, the idle partitions' only (the others were swept when their clocks last moved,
        unless clocks were loaded since); the route is told."""
        clocks = self.clocks
        idle = clocks.refresh(now) if now is not None else []
        for partition in list(clocks.partitions()) if every else idle:
            if owned is not None and partition not in owned:
                continue  # moved to another worker, which sweeps it
            if clocks.due(partition):
                self._sweep(partition)
        found = self.route.ticked(clocks, owned)
        if found:
            self.raised += found

    def advance(self, clock: float, partition: Hashable | None = None) -> None:
        """Move a partition's clock (every partition's, when ``None``) to ``clock`` and breach
        what fell due. The clock never goes back."""
        clocks = self.clocks
        targets = [partition] if partition is not None else (list(clocks.partitions()) or [None])
        for target in targets:
            clocks.observe(target, clock)
            if clocks.due(target):
                self._sweep(target)

    def finish(self, until: float | None = None) -> None:
        """The end of the stream, as a worker that has gone quiet sees it: every partition's
        tickets are checked at the overall clock (or ``until``, when later) less the grace,
        and every incident window is decided."""
        end = self.clocks.overall if until is None else max(self.clocks.overall, until)
        self.advance(end)
        found = self.route.finish(self.clocks)
        if found:
            self.raised += found

    def load(self, partition: Hashable, state: CustomerState, now: float | None = None,
             record_time: float | None = None) -> None:
        """A saved customer state (a restart, a recovery): its clock and due tickets count."""
        self.clocks.load(partition, state, now, record_time)

    def _sweep(self, partition: Hashable) -> None:
        clock, due = self.clocks.pop_due(partition)
        store, check = self.store, self.engine.check_sla
        for cid in due:
            state = store.load(cid, partition)
            # Entries are never deleted when a ticket closes early: most are stale.
            if state is not None and state.due_min < clock:
                result = check(state, clock)
                if result.signals:
                    store.save(cid, state, partition)
                    self.breaches.append((cid, result))
