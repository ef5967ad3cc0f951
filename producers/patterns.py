"""The ways a simulated customer struggles, each built to cross exactly the rules it names.

A pattern is laid out in hours from its start; :func:`place` fits it into the
simulated period (shrinking it when the period is short) and then the drafts are
written. Every pattern keeps at most ``Limits.content_contacts`` inbound contacts on
its service type per repeat window unless repeating is the point (``repeat_caller``),
so each one fires its own rules and no others (``churn_risk`` may follow any of them).
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .drafts import Draft, comment_text, call, feedback, ticket
from .episodes import Episode, wait_seconds
from .limits import Limits
from .population import SLA_HOURS, choose, choose_channel
from .rhythm import HOUR_MS, format_ms

__all__ = ["PATTERNS", "POSSIBLE_RULES", "Placed", "Struggle", "build_pattern", "pattern_for", "place"]

# name -> share among struggling customers
PATTERNS: dict[str, float] = {"repeat_caller": 0.35, "complainer": 0.2, "detractor": 0.25, "sla_breacher": 0.2}
POSSIBLE_RULES = ("churn_risk",)
_REPEAT_OUTCOMES = (
    ("unresolved", 0.35), ("transferred", 0.3), ("callback", 0.15), ("abandoned", 0.1), ("escalated", 0.1),
)  # fmt: skip
_DISSATISFIED_SCORES = {"csat": (1, 2), "nps": (0, 6), "ces": (1, 3)}  # survey -> dissatisfied score range

Clock = Callable[[float], int]  # hours after the pattern's start -> ms


@dataclass(slots=True)
class Struggle:
    """Ground truth of one struggling customer's pattern, and which of its events were emitted."""

    pattern: str
    customer_id: str
    segment: str
    service_type: str
    expected_rules: tuple[str, ...]
    detail: dict
    start_ms: int = 0
    end_ms: int = 0  # by this event time the expected rules must have fired
    planned: int = 0
    event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a pattern landed: its clock and the span it occupies."""

    at: Clock
    start_ms: int
    scale: float


def place(ep: Episode, low_ms: int, high_ms: int, span_hours: float) -> Placed:
    """Fit a pattern of ``span_hours`` into ``[low_ms, high_ms]``, shrunk if it does not fit."""
    room = max(high_ms - low_ms, HOUR_MS)
    scale = min(1.0, room / (span_hours * HOUR_MS))
    latest = max(low_ms, high_ms - int(span_hours * scale * HOUR_MS))
    start = ep.rhythm.office_moment(ep.rng, low_ms, latest)
    return Placed(lambda hours: start + int(hours * scale * HOUR_MS), start, scale)


def build_pattern(
    name: str, ep: Episode, limits: Limits, service_type: str, low_ms: int, high_ms: int
) -> tuple[Struggle, list[Draft]]:
    """Lay out one pattern for the episode's customer within ``[low_ms, high_ms]``."""
    builder = _BUILDERS[name]
    struggle = Struggle(name, ep.who.customer_id, ep.who.segment, service_type, (), {})
    drafts = builder(ep, limits, struggle, low_ms, high_ms)
    struggle.planned = len(drafts)
    struggle.start_ms = min(t for t, _ in drafts)
    struggle.end_ms = max(struggle.end_ms, max(t for t, _ in drafts))
    return struggle, drafts


def _inbound_call(
    ep: Episode, at_ms: int, st: str, outcome: str, *, complaint: bool = False, low: float = -0.7, high: float = 0.0
) -> Draft:
    wait = wait_seconds(ep, at_ms, mean_scale=2.0)
    talk = 0.0 if outcome == "abandoned" else ep.rng.lognormvariate(5.6, 0.5)
    agent = None if outcome == "abandoned" else ep.agent()
    channel = choose_channel(ep.rng, "inbound_call", ep.who.segment)
    return call(ep.who, at_ms, st, channel, direction="inbound", wait=wait, talk=talk, outcome=outcome,
                complaint=complaint, sentiment=ep.rng.uniform(low, high), agent=agent)  # fmt: skip


def _repeat_caller(ep: Episode, limits: Limits, s: Struggle, low: int, high: int) -> list[Draft]:
    """warning_at..critical_at inbound contacts on one service type inside the repeat window."""
    rng, engine = ep.rng, limits.engine
    counts = range(engine.repeat_warning_at, max(engine.repeat_warning_at, engine.repeat_critical_at) + 1)
    contacts = choose(rng, [(n, 0.6 ** i) for i, n in enumerate(counts)])
    span = min(60.0, 0.8 * engine.repeat_window_seconds / 3600)
    offsets = [0.0] + sorted(rng.uniform(0.5, span) for _ in range(contacts - 1))
    placed = place(ep, low, high, span)
    drafts: list[Draft] = []
    for i, hours in enumerate(offsets):
        at = placed.at(hours)
        last = i == len(offsets) - 1
        if rng.random() < 0.2:
            channel = choose_channel(rng, "ticket", ep.who.segment)
            tid = f"{ep.ticket_id}-{i}"
            drafts.append(ticket(ep.who, at, s.service_type, channel, tid, "opened", priority="normal"))
            continue
        outcome = "resolved" if last and rng.random() < 0.5 else choose(rng, _REPEAT_OUTCOMES)
        drafts.append(_inbound_call(ep, at, s.service_type, outcome))
    severity = "critical" if contacts >= engine.repeat_critical_at else "warning"
    s.expected_rules = ("repeat_contact",)
    s.detail = {"inbound_contacts": contacts, "severity": severity}
    return drafts


def _complainer(ep: Episode, limits: Limits, s: Struggle, low: int, high: int) -> list[Draft]:
    """``sensitive_at`` complaints on one service type, then one more inbound contact."""
    rng, who, st, engine = ep.rng, ep.who, s.service_type, limits.engine
    window_h = min(20.0, 0.5 * engine.sensitive_window_seconds / 3600)
    later = rng.uniform(24, 48)
    placed = place(ep, low, high, later + 1)
    first = placed.at(0)
    drafts: list[Draft] = []
    if rng.random() < 0.3:  # the first complaint in writing: a ticket that is resolved on time
        tid, due = ep.ticket_id, first + int(SLA_HOURS["high"] * placed.scale * HOUR_MS)
        channel = choose_channel(rng, "ticket", who.segment)
        drafts.append(ticket(who, first, st, channel, tid, "opened", priority="high", complaint=True, due_ms=due))
        drafts.append(ticket(who, first + int((due - first) * rng.uniform(0.3, 0.8)), st, "web", tid, "resolved"))
    else:
        outcome = choose(rng, (("unresolved", 0.7), ("escalated", 0.3)))
        drafts.append(_inbound_call(ep, first, st, outcome, complaint=True, low=-0.95, high=-0.5))
    for hours in sorted(rng.uniform(1, window_h) for _ in range(engine.sensitive_at - 1)):
        channel, text = choose_channel(rng, "comment", who.segment), comment_text(rng, "complaint")
        drafts.append(feedback(who, placed.at(hours), st, channel, "comment", comment=text, complaint=True))
    outcome = choose(rng, (("resolved", 0.6), ("unresolved", 0.4)))
    drafts.append(_inbound_call(ep, placed.at(later), st, outcome, low=-0.5, high=0.3))
    s.expected_rules = ("sensitive_customer", "sensitive_contact")
    s.detail = {"complaints": engine.sensitive_at}
    return drafts


def _dissatisfied(ep: Episode, at: int, st: str, related: str | None = None) -> Draft:
    rng = ep.rng
    survey = choose(rng, (("csat", 0.5), ("nps", 0.3), ("ces", 0.2)))
    score = rng.randint(*_DISSATISFIED_SCORES[survey])
    text = comment_text(rng, "unhappy") if rng.random() < 0.5 else None
    channel = choose_channel(rng, "survey", ep.who.segment)
    return feedback(ep.who, at, st, channel, survey, score=score, comment=text, related=related)


def _detractor(ep: Episode, limits: Limits, s: Struggle, low: int, high: int) -> list[Draft]:
    """One dissatisfied response after a contact; sometimes ``sensitive_at`` of them (then sensitive)."""
    rng, engine = ep.rng, limits.engine
    rounds = engine.sensitive_at if engine.sensitive_at <= limits.content_contacts and rng.random() < 0.35 else 1
    starts = [0.0] + sorted(rng.uniform(8, 30) for _ in range(rounds - 1))
    placed = place(ep, low, high, max(starts) + 6)
    drafts: list[Draft] = []
    for hours in starts:
        outcome = choose(rng, (("resolved", 0.4), ("unresolved", 0.3), ("transferred", 0.3)))
        drafts.append(_inbound_call(ep, placed.at(hours), s.service_type, outcome, low=-0.6, high=0.2))
        drafts.append(_dissatisfied(ep, placed.at(hours + rng.uniform(1 / 6, 6)), s.service_type))
    rules = ["detractor"] + (["sensitive_customer"] if rounds >= engine.sensitive_at else [])
    s.expected_rules = tuple(rules)
    s.detail = {"dissatisfied_responses": rounds}
    return drafts


def _sla_breacher(ep: Episode, limits: Limits, s: Struggle, low: int, high: int) -> list[Draft]:
    """A ticket with a due time that is resolved late, or never."""
    rng, who, st = ep.rng, ep.who, s.service_type
    priority = choose(rng, (("urgent", 0.2), ("high", 0.45), ("normal", 0.35)))
    complaint = rng.random() < 0.25
    never = rng.random() < 0.4
    due_h, late_h = SLA_HOURS[priority], rng.uniform(1, 24)
    margin_h = limits.sla_margin_ms / HOUR_MS
    placed = place(ep, low, high, due_h + (margin_h if never else late_h + 3))
    opened, due = placed.at(0), placed.at(due_h)
    tid, channel = ep.ticket_id, choose_channel(rng, "ticket", who.segment)
    drafts = [ticket(who, opened, st, channel, tid, "opened", priority=priority, complaint=complaint, due_ms=due)]
    drafts.append(ticket(who, placed.at(due_h * rng.uniform(0.2, 0.5)), st, "web", tid, "updated"))
    drafts.append(_inbound_call(ep, placed.at(due_h * rng.uniform(0.55, 0.95)), st, "unresolved"))
    if never:
        s.end_ms = placed.at(due_h + margin_h)  # the stream clock must pass due_at by then
    else:
        drafts.append(ticket(who, placed.at(due_h + late_h), st, "web", tid, "resolved"))
        drafts.append(ticket(who, placed.at(due_h + late_h + rng.uniform(1 / 6, 3)), st, "web", tid, "closed"))
    severity = "critical" if complaint or priority == "urgent" else "warning"
    s.expected_rules = ("sla_breach",)
    s.detail = {
        "ticket_id": tid,
        "due_at": format_ms(due, who.tz),
        "priority": priority,
        "is_complaint": complaint,
        "resolution": "never" if never else "late",
        "severity": severity,
    }
    return drafts


_BUILDERS: dict[str, Callable[[Episode, Limits, Struggle, int, int], list[Draft]]] = {
    "repeat_caller": _repeat_caller,
    "complainer": _complainer,
    "detractor": _detractor,
    "sla_breacher": _sla_breacher,
}


def pattern_for(rng: random.Random) -> str:
    """Which pattern a struggling customer follows."""
    return choose(rng, list(PATTERNS.items()))
