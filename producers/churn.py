"""The simulator's hidden churn model: customers leave by a hazard that grows with what happened to them.

Each customer carries a *frustration* ``F``: points for its experiences — a long wait, a call
that did not solve anything, a repeat contact, a complaint, a broken promise (a ticket
resolved after its due time, or still open well after it), a bad rating — fading with a
half-life of its own. Its rate of leaving per day is

    frailty × segment factor × (base + experience × (exp(steepness × F) − 1)),  at most max_per_day

(:class:`~cxpulse.producers.settings.ChurnSettings`). ``frailty`` is a log-normal factor
drawn once per customer, and ``base`` is leaving for reasons no event shows (moving,
price, a competitor). When it decides, the customer stops starting new contacts and its
account event follows after a notice delay.

This module is independent of the engine by construction: it imports nothing from
``processors/`` or ``producers/limits.py``; its experiences, points, windows and time
constants are its own (docs/producers.md, "Churn"), so a backtest of the engine's score
against it measures something the score was not built from.
"""

import math
import random
from dataclasses import dataclass, field
from typing import Any

from .drafts import Draft, Persona
from .population import choose
from .rhythm import DAY_MS, HOUR_MS, format_ms
from .settings import ChurnSettings

__all__ = ["Churn", "ChurnTracker", "Experience", "account_draft", "experience_points"]

# Contracts, account managers and the priority lane keep some customers longer.
SEGMENT_FACTOR = {"standard": 1.0, "key": 0.6, "vip": 0.5, "vulnerable": 0.4}
# Frustration points of what happened (credits negative). The model's own scale, not the engine's.
CALL_OUTCOME = {"unresolved": 0.5, "transferred": 0.3, "escalated": 0.4, "abandoned": 0.6, "callback": 0.15,
                "resolved": -0.1}
WAIT_FREE_SECONDS = 180.0  # waiting this long is unremarkable ...
WAIT_POINTS_PER_10_MIN = 0.5  # ... every 10 minutes more costs this much,
WAIT_POINTS_MAX = 1.0  # up to this
BAD_SENTIMENT = -0.4
BAD_SENTIMENT_POINTS = 0.25
COMPLAINT = 1.0
REPEAT = 0.4
TICKET_ESCALATED = 0.5
BROKEN_PROMISE = 1.5
SURVEY = {
    "csat": {1: 1.0, 2: 0.7, 3: 0.2, 4: -0.1, 5: -0.2},
    "nps": {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 0.5, 5: 0.5, 6: 0.5, 9: -0.2, 10: -0.2},
    "ces": {1: 0.6, 2: 0.6, 3: 0.3, 5: -0.1, 6: -0.1, 7: -0.1},
}
PRAISE = -0.1
ACTIONS = (("cancelled", 0.6), ("not_renewed", 0.25), ("downgraded", 0.15))
CHANNELS = (("phone", 0.4), ("web", 0.35), ("app", 0.15), ("email", 0.1))
# What the customer says when it leaves: exit reasons are noisy, and not every experience-driven
# leaver says "service".
REASONS = {
    "experience": (("service", 0.55), ("price", 0.2), ("competitor", 0.15), ("other", 0.1)),
    "hidden": (("moved", 0.35), ("price", 0.3), ("competitor", 0.25), ("other", 0.1)),
}


@dataclass(slots=True)
class Churn:
    """Ground truth of one customer who left: when it decided, when its account event is, why."""

    customer_id: str
    segment: str
    decided_ms: int
    churned_ms: int
    action: str
    reason: str
    cause: str  # "experience" (by its frustration) or "hidden" (a reason the events do not show)
    frustration: float  # F when it decided
    emitted: bool = False  # it left inside the simulated period (its account event, if any, was emitted)
    event_id: str | None = None  # the account event's id (None: the run emits no account events)


@dataclass(slots=True)
class Experience:
    """One customer's side of the model: its frustration and what it remembers."""

    frailty: float
    rng: random.Random
    frustration: float = 0.0
    at_ms: int = 0  # the time `frustration` refers to
    epoch: int = 0  # bumped at every change: older churn candidates are stale
    last_contact: dict[str, int] = field(default_factory=dict)  # service type -> last inbound contact
    promises: dict[str, int] = field(default_factory=dict)  # open ticket -> due time
    complained: set[str] = field(default_factory=set)  # tickets whose complaint counted
    decided: bool = False


class ChurnTracker:
    """The model over a population: experiences in, churn candidates and decisions out.

    The simulator calls :meth:`observe` with every event it emits (in event-time order),
    pushes the checks :meth:`observe` and :meth:`check` return into its merge heap, and
    calls :meth:`check` when one comes due. Candidates are drawn by thinning: the rate only
    falls between two experiences (frustration fades), so the rate now bounds it until the
    next one, and a candidate is kept with the ratio of the rate then to the bound.
    """

    def __init__(self, settings: ChurnSettings, seed: int, end_ms: int, scale: float = 1.0) -> None:
        self.settings = settings
        self.scale = scale  # rates times this, notice divided by it: time runs faster for the model
        self.seed = seed
        self.end_ms = end_ms
        self.churns: list[Churn] = []
        self._decay_per_ms = math.log(2) / (settings.half_life_days * DAY_MS)
        self._repeat_ms = int(settings.repeat_window_days * DAY_MS)
        self._grace_ms = int(settings.promise_grace_hours * HOUR_MS)

    def experience(self, index: int) -> Experience:
        """A new customer's state (its own seeded random stream)."""
        rng = random.Random(f"cxpulse-churn:{self.seed}:{index}")
        sigma = self.settings.frailty_sigma
        return Experience(math.exp(rng.gauss(-sigma * sigma / 2, sigma)) if sigma else 1.0, rng)

    # -- the rate ----------------------------------------------------------------------

    def frustration(self, exp: Experience, at_ms: int) -> float:
        """F at ``at_ms`` (it fades from its last change)."""
        return exp.frustration * math.exp(-(at_ms - exp.at_ms) * self._decay_per_ms) if exp.frustration else 0.0

    def rates(self, exp: Experience, segment: str, at_ms: int) -> tuple[float, float]:
        """(hidden, experience-driven) rates of leaving per day at ``at_ms``, capped together."""
        s = self.settings
        factor = exp.frailty * SEGMENT_FACTOR.get(segment, 1.0) * self.scale
        hidden = factor * s.base_per_day
        driven = factor * s.experience_per_day * math.expm1(s.steepness * self.frustration(exp, at_ms))
        total = hidden + driven
        if total > s.max_per_day * self.scale:
            scale = s.max_per_day * self.scale / total
            hidden, driven = hidden * scale, driven * scale
        return hidden, max(driven, 0.0)

    # -- what the simulator calls --------------------------------------------------------

    def start(self, exp: Experience, segment: str, at_ms: int) -> list[tuple[int, tuple[int, float]]]:
        """The first churn candidate of a customer, from the start of the period."""
        exp.at_ms = at_ms
        return self._candidate(exp, segment, at_ms)

    def observe(self, exp: Experience, who: Persona, event: dict[str, Any], at_ms: int) -> list[tuple[int, Any]]:
        """An emitted event of the customer: its experience points, then a fresh candidate.

        Returns heap entries ``(at_ms, tag)``: the new candidate, and a promise check at a
        ticket's due time plus the grace.
        """
        if exp.decided:
            return []
        points, checks = self._points(exp, event, at_ms)
        if not points and not checks:
            return []
        self._add(exp, at_ms, points)
        return self._candidate(exp, who.segment, at_ms) + checks

    def check(self, exp: Experience, who: Persona, at_ms: int, tag: Any) -> tuple[list[tuple[int, Any]], Churn | None]:
        """A heap entry came due: a churn candidate ``(epoch, bound)`` or a promise check ``("promise", id, due)``."""
        if exp.decided:
            return [], None
        if tag[0] == "promise":
            _, tid, due = tag
            if exp.promises.get(tid) != due:
                return [], None  # kept, moved to a new due time, or already counted
            del exp.promises[tid]
            self._add(exp, at_ms, BROKEN_PROMISE)
            return self._candidate(exp, who.segment, at_ms), None
        epoch, bound = tag
        if epoch != exp.epoch:
            return [], None  # an experience since has drawn a newer candidate
        hidden, driven = self.rates(exp, who.segment, at_ms)
        rate = hidden + driven
        if exp.rng.random() * bound >= rate:
            return self._candidate(exp, who.segment, at_ms), None
        return [], self._decide(exp, who, at_ms, hidden, driven)

    # -- inside ------------------------------------------------------------------------

    def _add(self, exp: Experience, at_ms: int, points: float) -> None:
        exp.frustration = max(0.0, self.frustration(exp, at_ms) + points)
        exp.at_ms = at_ms
        exp.epoch += 1

    def _candidate(self, exp: Experience, segment: str, at_ms: int) -> list[tuple[int, tuple[int, float]]]:
        hidden, driven = self.rates(exp, segment, at_ms)
        bound = hidden + driven
        if bound <= 0:
            return []
        moment = at_ms + int(exp.rng.expovariate(bound) * DAY_MS) + 1
        return [(moment, (exp.epoch, bound))] if moment <= self.end_ms else []

    def _decide(self, exp: Experience, who: Persona, at_ms: int, hidden: float, driven: float) -> Churn:
        rng = exp.rng
        exp.decided = True
        cause = "hidden" if rng.random() * (hidden + driven) < hidden else "experience"
        notice = self.settings.notice_days / self.scale
        delay = int(rng.expovariate(1 / notice) * DAY_MS) if notice > 0 else 0
        churn = Churn(who.customer_id, who.segment, at_ms, at_ms + delay, choose(rng, ACTIONS),
                      choose(rng, REASONS[cause]), cause, round(self.frustration(exp, at_ms), 3))
        self.churns.append(churn)
        return churn

    def _points(self, exp: Experience, event: dict[str, Any], at_ms: int) -> tuple[float, list[tuple[int, Any]]]:
        return experience_points(exp, event, at_ms, self._repeat_ms, self._grace_ms)


def experience_points(exp: Experience, event: dict[str, Any], at_ms: int, repeat_ms: int,
                      grace_ms: int) -> tuple[float, list[tuple[int, Any]]]:
    """Frustration points of one event body (and promise checks to schedule); updates what ``exp`` remembers."""
    kind = event["event_type"]
    points, checks = 0.0, list[tuple[int, Any]]()
    if kind == "call":
        if event["direction"] == "inbound":
            points += _repeat(exp, event["service_type"], at_ms, repeat_ms)
            over = max(0.0, event["wait_seconds"] - WAIT_FREE_SECONDS)
            points += min(WAIT_POINTS_MAX, WAIT_POINTS_PER_10_MIN * over / 600.0)
            points += CALL_OUTCOME.get(event["outcome"], 0.0)
        elif event["outcome"] != "resolved":
            points += CALL_OUTCOME.get(event["outcome"], 0.0) / 2
        if event.get("sentiment", 0.0) < BAD_SENTIMENT:
            points += BAD_SENTIMENT_POINTS
        if event.get("is_complaint"):
            points += COMPLAINT
    elif kind == "ticket":
        points, checks = _ticket(exp, event, at_ms, repeat_ms, grace_ms)
    elif kind == "feedback":
        score = event.get("score")
        if score is not None:
            points += SURVEY.get(event["survey"], {}).get(score, 0.0)
        if event.get("is_complaint"):
            points += COMPLAINT
        elif event["survey"] == "comment":
            points += PRAISE
    return points, checks


def _repeat(exp: Experience, service_type: str, at_ms: int, repeat_ms: int) -> float:
    last = exp.last_contact.get(service_type)
    exp.last_contact[service_type] = at_ms
    return REPEAT if last is not None and at_ms - last <= repeat_ms else 0.0


def _ticket(exp: Experience, event: dict[str, Any], at_ms: int, repeat_ms: int,
            grace_ms: int) -> tuple[float, list[tuple[int, Any]]]:
    tid, action = event["ticket_id"], event["action"]
    points, checks = 0.0, list[tuple[int, Any]]()
    if action == "opened":
        points += _repeat(exp, event["service_type"], at_ms, repeat_ms)
    if event.get("is_complaint") and tid not in exp.complained:
        exp.complained.add(tid)
        points += COMPLAINT
    if action in ("escalated", "reopened"):
        points += TICKET_ESCALATED
    due = event.get("due_at")
    if action in ("opened", "updated", "reopened") and due is not None:
        due_ms = _ms(due)
        exp.promises[tid] = due_ms
        checks.append((due_ms + grace_ms, ("promise", tid, due_ms)))
    elif action in ("resolved", "closed"):
        promised = exp.promises.pop(tid, None)
        if promised is not None and at_ms > promised:
            points += BROKEN_PROMISE
    return points, checks


def _ms(text: str) -> int:
    from datetime import datetime

    from .rhythm import to_ms

    return to_ms(datetime.fromisoformat(text))


def account_draft(rng: random.Random, who: Persona, churn: Churn) -> Draft:
    """The account event of a customer who leaves (``service_type`` account, a channel to leave by)."""
    body = {
        "event_type": "account",
        "customer_id": who.customer_id,
        "occurred_at": format_ms(churn.churned_ms, who.tz),
        "channel": choose(rng, CHANNELS),
        "service_type": "account",
        "segment": who.segment,
        "action": churn.action,
        "reason": churn.reason,
    }
    return churn.churned_ms, body
