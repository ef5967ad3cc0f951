"""Small builders of events and engine runs for the engine's unit tests.

Times are seconds after ``T0``; event ids are numbered per factory unless given.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from cxpulse.processors.engine import Engine, EngineSettings, StepResult
from cxpulse.schemas import Alert, CallEvent, FeedbackEvent, TicketEvent

__all__ = ["DAY", "HOUR", "MIN", "T0", "EventFactory", "Run", "at", "run"]

MIN = 60.0
HOUR = 3600.0
DAY = 86400.0
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
T0_EPOCH = T0.timestamp()


def at(seconds: float) -> datetime:
    """The moment ``seconds`` after ``T0``."""
    return T0 + timedelta(seconds=seconds)


class EventFactory:
    """Builds valid events for one default customer and service type."""

    def __init__(self, customer_id: str = "C-1", service_type: str = "billing",
                 segment: str = "standard", prefix: str = "e") -> None:
        self.customer_id, self.service_type, self.segment = customer_id, service_type, segment
        self.prefix, self.count = prefix, 0

    def _common(self, t: float, kw: dict) -> dict:
        self.count += 1
        return {
            "event_id": kw.pop("event_id", None) or f"{self.prefix}{self.count}",
            "customer_id": kw.pop("customer_id", self.customer_id),
            "occurred_at": at(t),
            "channel": kw.pop("channel", "phone"),
            "service_type": kw.pop("service_type", self.service_type),
            "segment": kw.pop("segment", self.segment),
        }

    def call(self, t: float = 0.0, *, direction: str = "inbound", outcome: str = "callback",
             wait: float = 20.0, talk: float = 120.0, complaint: bool = False,
             sentiment: float | None = None, **kw) -> CallEvent:
        return CallEvent(event_type="call", direction=direction, outcome=outcome,
                         wait_seconds=wait, talk_seconds=talk, is_complaint=complaint,
                         sentiment=sentiment, **self._common(t, kw))

    def ticket(self, t: float = 0.0, ticket_id: str = "T-1", action: str = "opened", *,
               due: float | None = None, priority: str | None = None, complaint: bool = False,
               **kw) -> TicketEvent:
        return TicketEvent(event_type="ticket", ticket_id=ticket_id, action=action,
                           priority=priority, is_complaint=complaint,
                           due_at=None if due is None else at(due), **self._common(t, kw))

    def feedback(self, t: float = 0.0, survey: str = "csat", score: int | None = 5, *,
                 complaint: bool = False, **kw) -> FeedbackEvent:
        return FeedbackEvent(event_type="feedback", survey=survey, score=score,
                             is_complaint=complaint, **self._common(t, kw))


class Run:
    """The results of feeding events through one Engine, customer by customer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.states: dict = {}
        self.results: list[StepResult] = []
        self.alerts: list[Alert] = []

    def feed(self, events: Iterable) -> "Run":
        for event in events:
            result = self.engine.step(self.states.get(event.customer_id), event)
            self.states[event.customer_id] = result.state
            self.results.append(result)
            self.alerts.extend(result.alerts)
        return self

    def check_sla(self, customer_id: str, clock: float) -> StepResult:
        result = self.engine.check_sla(self.states[customer_id], T0_EPOCH + clock)
        self.alerts.extend(result.alerts)
        return result

    @property
    def state(self):
        (state,) = self.states.values()
        return state

    @property
    def last(self) -> StepResult:
        return self.results[-1]

    def fired(self, rule: str | None = None) -> list[tuple[str, str, str]]:
        """(rule, severity, status) of every alert, optionally of one rule."""
        return [(a.rule, a.severity, a.status) for a in self.alerts if rule in (None, a.rule)]


def run(events: Iterable, settings: EngineSettings | None = None, **overrides) -> Run:
    """Feed ``events`` through a fresh engine (settings ``overrides`` applied)."""
    if overrides:
        settings = (settings or EngineSettings()).model_copy(update=overrides)
    return Run(Engine(settings)).feed(events)
