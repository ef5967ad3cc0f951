"""The wire contract of cxpulse (docs/rules.md) as pydantic models."""

from .events import (
    AccountEvent,
    CallEvent,
    ContactStartedEvent,
    Event,
    EventAdapter,
    FeedbackEvent,
    InvalidEvent,
    TicketEvent,
    decode_event,
    is_churn,
    is_dissatisfied,
    is_inbound_contact,
    parse_event,
)
from .outputs import AgentBrief, AgentWarning, Alert, DeadLetter, ScoreSnapshot, dead_letter, dead_letter_json

__all__ = [
    "AccountEvent",
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
    "decode_event",
    "dead_letter_json",
    "is_churn",
    "is_dissatisfied",
    "is_inbound_contact",
    "parse_event",
]
