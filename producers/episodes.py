"""Ordinary contacts of content customers: a call, a ticket, a survey, an outbound call.

Each episode is a short list of drafts starting at the episode's moment. Content
episodes resolve on time, are rated well, and never complain; the simulator checks
their inbound contacts and estimated penalty against :class:`Limits` and falls back to
a :func:`quiet_episode` (no inbound contact, no penalty) when one would not fit.
"""

import random
from dataclasses import dataclass

from .drafts import Draft, Persona, call, comment_text, feedback, ticket
from .population import SLA_HOURS, choose, choose_channel
from .rhythm import HOUR_MS, MINUTE_MS, Rhythm

__all__ = ["Episode", "content_episode", "quiet_episode", "satisfied_score", "wait_seconds"]

_KINDS = (("call", 0.45), ("ticket", 0.28), ("outbound", 0.12), ("survey", 0.1), ("comment", 0.05))
_CONTENT_OUTCOMES = (("resolved", 0.88), ("callback", 0.05), ("transferred", 0.04), ("abandoned", 0.03))
_PRIORITIES = {
    "key": (("normal", 0.5), ("high", 0.4), ("urgent", 0.1)),
    "default": (("low", 0.25), ("normal", 0.55), ("high", 0.17), ("urgent", 0.03)),
}
_SURVEYS = (("csat", 0.6), ("nps", 0.25), ("ces", 0.15))
_SATISFIED = {
    "csat": ((5, 0.55), (4, 0.35), (3, 0.1)),
    "nps": ((10, 0.3), (9, 0.25), (8, 0.25), (7, 0.2)),
    "ces": ((7, 0.3), (6, 0.35), (5, 0.2), (4, 0.15)),
}


@dataclass(frozen=True, slots=True)
class Episode:
    """What an episode needs: its random stream, the customer, names and the rhythm."""

    rng: random.Random
    who: Persona
    ticket_id: str
    agents: int
    rhythm: Rhythm
    max_wait: float  # seconds; content waits stay below the engine's long-wait threshold

    def agent(self) -> str:
        return f"agent-{self.rng.randrange(self.agents):03d}"


def wait_seconds(ep: Episode, at_ms: int, mean_scale: float = 1.0) -> float:
    """Queue time: longer in busy hours, short on the priority lane (VIP, vulnerable)."""
    mean = (20 + 70 * ep.rhythm.intensity(at_ms)) * mean_scale
    if ep.who.segment in ("vip", "vulnerable"):
        mean *= 0.4
    return ep.rng.expovariate(1 / mean)


def satisfied_score(rng: random.Random, survey: str) -> int:
    """A score a content customer gives: never a dissatisfied one."""
    return choose(rng, _SATISFIED[survey])


def content_episode(ep: Episode, at_ms: int, service_type: str) -> list[Draft]:
    """One ordinary episode on ``service_type`` starting at ``at_ms``."""
    kind = choose(ep.rng, _KINDS)
    if kind == "call":
        return _call_episode(ep, at_ms, service_type)
    if kind == "ticket":
        return _ticket_episode(ep, at_ms, service_type)
    return quiet_episode(ep, at_ms, service_type, kind)


def quiet_episode(ep: Episode, at_ms: int, service_type: str, kind: str | None = None) -> list[Draft]:
    """An episode with no inbound contact and no penalty: outbound call, promoter survey, praise."""
    rng, who = ep.rng, ep.who
    kind = kind or choose(rng, (("outbound", 0.5), ("survey", 0.35), ("comment", 0.15)))
    if kind == "outbound":
        outcome = choose(rng, (("resolved", 0.85), ("callback", 0.15)))
        talk = rng.uniform(40, 300) if outcome == "resolved" else rng.uniform(5, 30)
        return [call(who, at_ms, service_type, "phone", direction="outbound", wait=0, talk=talk,
                     outcome=outcome, agent=ep.agent())]  # fmt: skip
    if kind == "survey":
        channel = choose_channel(rng, "survey", who.segment)
        score = choose(rng, ((10, 0.5), (9, 0.5)))
        return [feedback(who, at_ms, service_type, channel, "nps", score=score)]
    channel = choose_channel(rng, "comment", who.segment)
    return [feedback(who, at_ms, service_type, channel, "comment", comment=comment_text(rng, "praise"))]


def _call_episode(ep: Episode, at_ms: int, service_type: str) -> list[Draft]:
    rng, who = ep.rng, ep.who
    channel = choose_channel(rng, "inbound_call", who.segment)
    outcome = choose(rng, _CONTENT_OUTCOMES)
    wait = min(wait_seconds(ep, at_ms), ep.max_wait)
    talk = 0.0 if outcome == "abandoned" else rng.lognormvariate(5.3, 0.6)  # median ~3.3 min
    sentiment = rng.uniform(0.1, 0.9) if outcome == "resolved" else rng.uniform(-0.3, 0.3)
    agent = None if outcome == "abandoned" else ep.agent()
    drafts = [call(who, at_ms, service_type, channel, direction="inbound", wait=wait, talk=talk,
                   outcome=outcome, sentiment=sentiment, agent=agent)]  # fmt: skip
    end = at_ms + int((wait + talk) * 1000)
    if outcome == "callback":
        back = end + rng.randint(HOUR_MS, 6 * HOUR_MS)
        drafts.append(call(who, back, service_type, "phone", direction="outbound", wait=0,
                           talk=rng.uniform(60, 400), outcome="resolved", agent=ep.agent()))  # fmt: skip
    elif outcome == "resolved" and rng.random() < 0.3:
        drafts.append(_survey(ep, end + rng.randint(5 * MINUTE_MS, HOUR_MS), service_type))
    return drafts


def _ticket_episode(ep: Episode, at_ms: int, service_type: str) -> list[Draft]:
    rng, who = ep.rng, ep.who
    channel = choose_channel(rng, "ticket", who.segment)
    priority = choose(rng, _PRIORITIES.get(who.segment, _PRIORITIES["default"]))
    sla_ms = int(SLA_HOURS[priority] * HOUR_MS)
    tid = ep.ticket_id
    drafts = [ticket(who, at_ms, service_type, channel, tid, "opened", priority=priority, due_ms=at_ms + sla_ms)]
    resolved = at_ms + int(sla_ms * rng.uniform(0.1, 0.75))
    if rng.random() < 0.4:
        updated = at_ms + int((resolved - at_ms) * rng.uniform(0.2, 0.8))
        drafts.append(ticket(who, updated, service_type, "web", tid, "updated"))
    drafts.append(ticket(who, resolved, service_type, "web", tid, "resolved"))
    if rng.random() < 0.7:
        closed = resolved + rng.randint(10 * MINUTE_MS, 12 * HOUR_MS)
        drafts.append(ticket(who, closed, service_type, "web", tid, "closed"))
    if rng.random() < 0.3:
        drafts.append(_survey(ep, resolved + rng.randint(10 * MINUTE_MS, 6 * HOUR_MS), service_type, related=tid))
    return drafts


def _survey(ep: Episode, at_ms: int, service_type: str, related: str | None = None) -> Draft:
    survey = choose(ep.rng, _SURVEYS)
    channel = choose_channel(ep.rng, "survey", ep.who.segment)
    score = satisfied_score(ep.rng, survey)
    return feedback(ep.who, at_ms, service_type, channel, survey, score=score, related=related)
