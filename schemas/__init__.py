"""The wire contract of cxpulse (docs/rules.md) as pydantic models."""

from .events import (
    CallEvent,
    Event,
    EventAdapter,
    FeedbackEvent,
    InvalidEvent,
    TicketEvent,
    decode_event,
    is_dissatisfied,
    is_inbound_contact,
    parse_event,
)
from .outputs import Alert, DeadLetter, ScoreSnapshot, dead_letter, dead_letter_json

__all__ = [
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
    "decode_event",
    "dead_letter_json",
    "is_dissatisfied",
    "is_inbound_contact",
    "parse_event",
]
