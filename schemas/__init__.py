"""The wire contract of cxpulse (docs/rules.md) as pydantic models."""

from .events import (
    AccountEvent,
    CallEvent,
    Event,
    EventAdapter,
    FeedbackEvent,
    InvalidEvent,
    TicketEvent,
    is_churn,
    is_dissatisfied,
    is_inbound_contact,
    parse_event,
)
from .outputs import Alert, DeadLetter, ScoreSnapshot, dead_letter, dead_letter_json

__all__ = [
    "AccountEvent",
    "Alert",
    "CallEvent",
    "DeadLetter",
    "Event",
    "EventAdapter",
    "FeedbackEvent",
    "InvalidEvent",
    "ScoreSnapshot",
    "TicketEvent",
    "dead_letter",
    "dead_letter_json",
    "is_churn",
    "is_dissatisfied",
    "is_inbound_contact",
    "parse_event",
]
