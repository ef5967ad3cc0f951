"""Event bodies as the simulator plans them: everything of an event but its ``event_id``.

A draft is ``(occurred_at in ms, body)``. The id is added when the event is emitted,
so ids follow the emission order and stay identical for identical runs. Bodies keep
the wire field order of docs/rules.md, and carry optional fields only when set.
"""

import random
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from .rhythm import format_ms

__all__ = ["Draft", "Persona", "call", "comment_text", "contact_started", "feedback", "ticket"]

Draft = tuple[int, dict[str, Any]]

_COMMENTS = {
    "praise": (
        "Quick and friendly, thank you.",
        "Sorted in one call.",
        "The app made it easy.",
        "Clear explanation of my bill.",
        "Technician arrived on time.",
    ),
    "unhappy": (
        "Waited far too long and nothing changed.",
        "Nobody could tell me what is going on.",
        "I had to explain everything again.",
        "The answer did not solve my problem.",
    ),
    "complaint": (
        "This is my second complaint and still no fix.",
        "I want this escalated, the problem keeps coming back.",
        "Formal complaint: promised call-back never came.",
        "Charged twice and nobody corrects it.",
    ),
}


@dataclass(frozen=True, slots=True)
class Persona:
    """Who an event is about, and the UTC offset its times are written in."""

    customer_id: str
    segment: str
    tz: timezone


def _head(who: Persona, kind: str, at_ms: int, service_type: str, channel: str) -> dict[str, Any]:
    return {
        "event_type": kind,
        "customer_id": who.customer_id,
        "occurred_at": format_ms(at_ms, who.tz),
        "channel": channel,
        "service_type": service_type,
        "segment": who.segment,
    }


def call(
    who: Persona,
    at_ms: int,
    service_type: str,
    channel: str,
    *,
    direction: str,
    wait: float,
    talk: float,
    outcome: str,
    complaint: bool = False,
    sentiment: float | None = None,
    agent: str | None = None,
) -> Draft:
    """A call event draft."""
    body = _head(who, "call", at_ms, service_type, channel)
    body.update(direction=direction, wait_seconds=round(wait, 1), talk_seconds=round(talk, 1), outcome=outcome)
    if complaint:
        body["is_complaint"] = True
    if sentiment is not None:
        body["sentiment"] = round(sentiment, 2)
    if agent is not None:
        body["agent_id"] = agent
    return at_ms, body


def contact_started(who: Persona, at_ms: int, service_type: str, channel: str, contact_id: str, *,
                    agent: str | None = None, queue: str | None = None) -> Draft:
    """A contact start draft: the telephony/chat system says the customer is contacting us now."""
    body = _head(who, "contact_started", at_ms, service_type, channel)
    body["contact_id"] = contact_id
    if agent is not None:
        body["agent_id"] = agent
    if queue is not None:
        body["queue"] = queue
    return at_ms, body


def ticket(
    who: Persona,
    at_ms: int,
    service_type: str,
    channel: str,
    ticket_id: str,
    action: str,
    *,
    priority: str | None = None,
    complaint: bool = False,
    due_ms: int | None = None,
) -> Draft:
    """A ticket event draft; ``due_ms`` becomes ``due_at``."""
    body = _head(who, "ticket", at_ms, service_type, channel)
    body.update(ticket_id=ticket_id, action=action)
    if priority is not None:
        body["priority"] = priority
    if complaint:
        body["is_complaint"] = True
    if due_ms is not None:
        body["due_at"] = format_ms(due_ms, who.tz)
    return at_ms, body


def feedback(
    who: Persona,
    at_ms: int,
    service_type: str,
    channel: str,
    survey: str,
    *,
    score: int | None = None,
    comment: str | None = None,
    related: str | None = None,
    complaint: bool = False,
) -> Draft:
    """A feedback event draft (a survey with a score, or a comment)."""
    body = _head(who, "feedback", at_ms, service_type, channel)
    body["survey"] = survey
    if score is not None:
        body["score"] = score
    if comment is not None:
        body["comment"] = comment
    if related is not None:
        body["related_ticket_id"] = related
    if complaint:
        body["is_complaint"] = True
    return at_ms, body


def comment_text(rng: random.Random, mood: str) -> str:
    """A canned comment: ``praise``, ``unhappy`` or ``complaint`` (no personal data, ever)."""
    return rng.choice(_COMMENTS[mood])
