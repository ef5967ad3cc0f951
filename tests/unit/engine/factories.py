"""Small builders of events and engine runs for the engine's unit tests.

Times are seconds after ``T0``; event ids are numbered per factory unless given.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from cxpulse.processors.engine import Engine, EngineSettings, StepResult
from cxpulse.schemas import AccountEvent, Alert, CallEvent, FeedbackEvent, TicketEvent

__all__ = ["DAY", "HOUR", "MIN", "T0", "EventFactory", "Run", "at", "random_stream", "run"]

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

    def account(self, t: float = 0.0, action: str = "cancelled", *, reason: str | None = None,
                **kw) -> AccountEvent:
        common = self._common(t, {"channel": "web", "service_type": "account", **kw})
        return AccountEvent(event_type="account", action=action, reason=reason, **common)


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


def random_stream(rng, n: int, customers: int = 3, services: tuple[str, ...] = ("billing", "repair"),
                  span: float = 10 * DAY, late_fraction: float = 0.0, prefix: str = "r") -> list:
    """A realistic mix of n events for a few customers, sorted by time unless ``late_fraction``.

    ``late_fraction`` of the events are moved later in the list (arrive late, up to 2 days).
    """
    factories = [EventFactory(customer_id=f"C-{i}", prefix=f"{prefix}{i}-",
                              segment=rng.choice(["standard"] * 6 + ["vip", "key", "vulnerable"]))
                 for i in range(customers)]
    events = []
    for t in sorted(rng.uniform(0, span) for _ in range(n)):
        f = rng.choice(factories)
        svc = rng.choice(services)
        kind = rng.random()
        if kind < 0.5:
            events.append(f.call(t, service_type=svc, direction=rng.choice(["inbound"] * 4 + ["outbound"]),
                                 outcome=rng.choice(["resolved", "unresolved", "transferred", "escalated",
                                                     "abandoned", "callback"]),
                                 wait=rng.choice([10, 100, 400]), complaint=rng.random() < 0.1,
                                 sentiment=rng.choice([None, -0.9, 0.3])))
        elif kind < 0.8:
            tid = f"{f.customer_id}-T{rng.randrange(4)}"
            action = rng.choice(["opened", "opened", "updated", "escalated", "reopened", "resolved", "closed"])
            due = t + rng.choice([HOUR, DAY, 3 * DAY]) if action in ("opened", "updated", "reopened") else None
            events.append(f.ticket(t, tid, action, due=due, service_type=svc,
                                   priority=rng.choice([None, "normal", "urgent"]), complaint=rng.random() < 0.1))
        else:
            survey = rng.choice(["csat", "nps", "ces", "comment"])
            score = {"csat": rng.randint(1, 5), "nps": rng.randint(0, 10), "ces": rng.randint(1, 7)}.get(survey)
            events.append(f.feedback(t, survey, score, service_type=svc, complaint=rng.random() < 0.1))
    if late_fraction:
        for i in range(len(events) - 1, 0, -1):
            if rng.random() < late_fraction:
                j = min(len(events) - 1, i + rng.randrange(1, 20))
                events.insert(j, events.pop(i))
    return events
