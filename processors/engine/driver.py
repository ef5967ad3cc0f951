"""The single-process pipeline: :class:`Orchestrator` with a dict store and inline incidents.

``cxpulse replay``, the customer timeline, the backtest, the tests and the benchmark feed
events through :class:`EngineDriver` one at a time, in the order they were read. The
clocks, SLA sweeps and incident decisions are the live worker's own code
(:mod:`.orchestration`): each partition has its own stream clock, a customer's tickets
breach by the clock of the customer's partition, an idle partition follows the overall
clock, and incidents are decided behind the watermark.
"""

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol

from cxpulse.schemas import Alert, ScoreSnapshot

from .engine import Engine
from .incident import IncidentEngine, IncidentState
from .orchestration import DictStore, InlineIncidents, Orchestrator, RecordFailed, StepEngine
from .partitioner import key_partition
from .results import StepResult
from .settings import EngineSettings
from .state import NEVER, CustomerState

__all__ = ["DriverEngine", "EngineDriver", "RecordFailed", "StepHook"]

# Called after every event with (event, the customer's step result, every alert it caused:
# the customer's, SLA breaches of other customers found by the advancing clock, incidents).
StepHook = Callable[[object, StepResult, list[Alert]], None]

IDLE_CHECK_EVERY = 1.0  # seconds of record time between two looks for idle partitions (the worker's timer)


class DriverEngine(StepEngine, Protocol):
    """What the driver and its callers use of the engine (:class:`Engine`, or a wrapper of it)."""

    def snapshot(self, state: CustomerState) -> ScoreSnapshot: ...


class EngineDriver:
    """Feeds events through :class:`Orchestrator` in one process.

    ``feed(event, partition, received)``: ``partition`` is the Kafka partition the event
    was read from; without one, with ``partitions`` set, the partition Kafka's default
    partitioner gives the customer id (so a plain event file replays like the topic it
    was produced to); else every event is on one stream. ``received`` is the record's
    time (its Kafka timestamp, in seconds): it lets idle partitions be found as the worker
    finds them by wall time, and bounds how far the event moves its partition's clock
    (``stream_clock_lead_seconds``). Without it (a plain event file) the clock follows
    event times alone.

    An event whose processing raises is not fed: :meth:`feed` raises
    :class:`RecordFailed` (the replay counts it as a dead letter) and the driver goes on.
    ``engine``: the engine to step with (default ``Engine(settings)``; a test passes one that
    wraps it to make a record fail).
    """

    def __init__(self, settings: EngineSettings | None = None, *, on_step: StepHook | None = None,
                 keep_alerts: bool = True, partitions: int | None = None, engine: DriverEngine | None = None) -> None:
        self.engine: DriverEngine = Engine(settings) if engine is None else engine
        self.settings = self.engine.settings
        self.incidents = IncidentEngine(self.settings)
        self.states: dict[str, CustomerState] = {}
        self._route = InlineIncidents(self.incidents)
        self.core = Orchestrator(self.engine, DictStore(self.states), self._route)
        self.clocks = self.core.clocks
        self.partitions = partitions
        self.alerts: list[Alert] = []
        self.events = 0
        self.duplicates = 0
        self.failed = 0
        self.on_step = on_step
        self.keep_alerts = keep_alerts
        self._partition_of: dict[str, int] = {}
        self._idle_check_at = NEVER

    @property
    def incident_states(self) -> dict[str, IncidentState]:
        """Incident states by service type."""
        return self._route.states

    @property
    def clock(self) -> float:
        """The overall stream clock: the largest clock of any partition."""
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
            driver.core.load(driver._partition(state.customer_id), state)
        if driver.partitions is None:  # one stream: its clock is the saved clock
            clocks.observe(None, clock)
        clocks.overall = max(clocks.overall, clock)
        driver._route = InlineIncidents(driver.incidents, {s.service_type: s for s in incident_states})
        driver.core.route = driver._route
        return driver

    def feed(self, event, partition: Hashable | None = None, received: float | None = None) -> list[Alert]:
        """Process one event; returns every alert it caused (empty for a duplicate).

        Raises :class:`RecordFailed` when processing the event raised (counted in ``failed``);
        the alerts of other customers' breaches found before the failure are its ``alerts``."""
        self.events += 1
        if partition is None and self.partitions:
            partition = self._partition(event.customer_id)
        core = self.core
        try:
            result = core.step(event, partition, received, received)
        except RecordFailed as failure:
            self.failed += 1
            failure.alerts = self._keep(self._collect([]))
            raise
        alerts = result.alerts
        if received is not None and received >= self._idle_check_at:
            self._idle_check_at = received + IDLE_CHECK_EVERY
            core.tick(received, every=False)
        if core.breaches or core.raised:
            alerts = self._collect(list(alerts))
        if result.duplicate:
            self.duplicates += 1
        if self.on_step is not None:
            self.on_step(event, result, alerts)
        if alerts and self.keep_alerts:
            self.alerts.extend(alerts)
        return alerts

    def tick(self, received: float) -> list[Alert]:
        """A look at idle partitions at record time ``received`` with nothing read (the
        worker's timer); returns the breaches found."""
        self._idle_check_at = received + IDLE_CHECK_EVERY
        self.core.tick(received)
        return self._keep(self._collect([]))

    def advance(self, clock: float, partition: Hashable | None = None) -> list[Alert]:
        """Move a partition's clock (every partition's, when ``None``) to ``clock``; returns
        the breaches found. The clock never goes back. For a caller that reads event times
        it does not feed, e.g. the timeline (other customers' events on the partition)."""
        self.core.advance(clock, partition)
        return self._keep(self._collect([]))

    def finish(self, until: float | None = None) -> list[Alert]:
        """The end of the stream, as a worker that has gone quiet sees it: every partition's
        tickets are checked at the overall clock (or ``until``, e.g. the end of a replay
        range, when later) and every incident window is decided."""
        self.core.finish(until)
        return self._keep(self._collect([]))

    def _collect(self, alerts: list[Alert]) -> list[Alert]:
        """``alerts`` + the breaches and incidents the core found (taken from it)."""
        core = self.core
        for _, breach in core.breaches:
            alerts += breach.alerts
        alerts += core.raised
        core.breaches.clear()
        core.raised.clear()
        return alerts

    def _keep(self, alerts: list[Alert]) -> list[Alert]:
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
