"""The single-process pipeline: customer steps, the stream clock, SLA sweeps, incidents.

``cxpulse replay``, the customer timeline, the tests and the benchmark feed events
through :class:`EngineDriver` one at a time, in the order they were read.
"""

from collections.abc import Callable, Iterable

from cxpulse.schemas import Alert

from .engine import Engine
from .incident import IncidentEngine, IncidentState
from .results import Contact, StepResult
from .settings import EngineSettings
from .sla import SlaIndex
from .state import NEVER, CustomerState

__all__ = ["EngineDriver", "StepHook"]

# Called after every event with (event, the customer's step result, every alert it caused:
# the customer's, SLA breaches of other customers found by the advancing clock, incidents).
StepHook = Callable[[object, StepResult, list[Alert]], None]


class EngineDriver:
    """Feeds events through :class:`Engine` and :class:`IncidentEngine` in one process.

    The stream clock is the largest ``occurred_at`` seen; whenever it advances, every
    customer with a ticket due before it is checked (:meth:`Engine.check_sla`).
    """

    def __init__(self, settings: EngineSettings | None = None, *, on_step: StepHook | None = None,
                 keep_alerts: bool = True) -> None:
        self.engine = Engine(settings)
        self.settings = self.engine.settings
        self.incidents = IncidentEngine(self.settings)
        self.states: dict[str, CustomerState] = {}
        self.incident_states: dict[str, IncidentState] = {}
        self.sla = SlaIndex()
        self._due_heap = self.sla.heap  # read directly on the hot path
        self.clock = NEVER
        self.alerts: list[Alert] = []
        self.events = 0
        self.duplicates = 0
        self.on_step = on_step
        self.keep_alerts = keep_alerts

    @classmethod
    def restore(cls, settings: EngineSettings | None, states: Iterable[CustomerState],
                incident_states: Iterable[IncidentState] = (), clock: float = NEVER,
                **kwargs) -> "EngineDriver":
        """A driver that continues from saved states (its SLA index is rebuilt from them)."""
        driver = cls(settings, **kwargs)
        for state in states:
            driver.states[state.customer_id] = state
            for due, tid in state.due_tickets():
                driver.sla.push(due, state.customer_id, tid)
        driver.incident_states = {s.service_type: s for s in incident_states}
        driver.clock = clock
        return driver

    def feed(self, event) -> list[Alert]:
        """Process one event; returns every alert it caused (empty for a duplicate)."""
        self.events += 1
        cid = event.customer_id
        result = self.engine.step(self.states.get(cid), event)
        alerts = result.alerts
        if result.duplicate:
            self.duplicates += 1
        else:
            self.states[cid] = result.state
            for due, tid in result.due:
                self.sla.push(due, cid, tid)
            clock = self.clock
            if result.at > clock:
                self.clock = clock = result.at
            heap = self._due_heap
            if heap and heap[0][0] < clock:
                alerts = alerts + self._sweep(clock)
            if result.contact is not None:
                found = self._incident(result.contact)
                if found:
                    alerts = alerts + found
        if self.on_step is not None:
            self.on_step(event, result, alerts)
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def finish(self, until: float | None = None) -> list[Alert]:
        """Final SLA check: at the stream clock, or at ``until`` (e.g. the end of a replay range)."""
        if until is not None and until > self.clock:
            self.clock = until
        alerts = self._sweep(self.clock)
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def _sweep(self, clock: float) -> list[Alert]:
        found: list[Alert] = []
        for cid in self.sla.pop_due(clock):
            state = self.states.get(cid)
            # Entries are never deleted when a ticket closes early: most are stale.
            if state is not None and state.due_min < clock:
                found += self.engine.check_sla(state, clock).alerts
        return found

    def _incident(self, contact: Contact) -> list[Alert]:
        svc = contact.service_type
        state, alerts = self.incidents.step(self.incident_states.get(svc), contact)
        self.incident_states[svc] = state
        return alerts
