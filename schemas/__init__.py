"""The wire contract of cxpulse (docs/rules.md) as pydantic models."""

from .events import (
    CallEvent,
    ContactStartedEvent,
    Event,
    EventAdapter,
    FeedbackEvent,
    InvalidEvent,
    TicketEvent,
    is_dissatisfied,
    is_inbound_contact,
    parse_event,
)
from .outputs import AgentBrief, AgentWarning, Alert, DeadLetter, ScoreSnapshot, dead_letter

__all__ = [
    "AgentBrief",
    "AgentWarning",
    "Alert",
    "CallEvent",
    "ContactStartedEvent",
    "DeadLetter",
    "Event",
    "EventAdapter",
    "FeedbackEvent",
    "InvalidEvent",
    "ScoreSnapshot",
    "TicketEvent",
    "dead_letter",
    "is_dissatisfied",
    "is_inbound_contact",
    "parse_event",
]
