"""Customer-contact events: the input contract (docs/rules.md, "Events").

Every producer writes, and every consumer reads, one JSON object per Kafka record on
``cx.events``. :func:`parse_event` is the one way in: it turns raw bytes into a typed
event or raises :class:`InvalidEvent` whose ``reason`` names the field and the rule.
"""

from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter
from pydantic import ValidationError, model_validator
from pydantic.config import JsonValue
from pydantic_core import ErrorDetails

from cxpulse.errors import CxpulseError

from .fastdecode import fast_decoder
from .fastpath import fast_validator
from .safetext import one_line
from .types import (
    EARLIEST_TEXT,
    LATEST_TEXT,
    SERVICE_TYPE_PATTERN,
    SERVICE_TYPE_RULE,
    TIME_RANGE_RULE,
    Channel,
    CustomerId,
    EventId,
    EventTime,
    NonNegativeSeconds,
    Segment,
    ServiceType,
)

__all__ = [
    "ACCOUNT_ACTIONS",
    "AccountEvent",
    "CHURN_ACTIONS",
    "CONTACT_ID_MAX",
    "CallEvent",
    "ContactStartedEvent",
    "Event",
    "EventAdapter",
    "FeedbackEvent",
    "InvalidEvent",
    "SURVEY_RANGES",
    "TicketEvent",
    "decode_event",
    "describe_errors",
    "dumps_event",
    "is_churn",
    "is_dissatisfied",
    "is_inbound_contact",
    "parse_event",
    "rule_message",
]

# 2: the account event (outcomes: a customer left, or came back), the contact_started event and
# contact_id on call and ticket (additive: version-1 records are unchanged and still valid).
SCHEMA_VERSION = 2
CONTACT_ID_MAX = 128
MAX_COMMENT_CHARS = 2000
MAX_REASON_CHARS = 64

# What an account event says happened; every action but "reactivated" means the customer left.
ACCOUNT_ACTIONS = ("cancelled", "not_renewed", "downgraded", "reactivated")
CHURN_ACTIONS = frozenset({"cancelled", "not_renewed", "downgraded"})

# survey -> (lowest, highest) score; "comment" carries no score.
SURVEY_RANGES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
# survey -> highest score that counts as a dissatisfied response.
DISSATISFIED_AT_OR_BELOW: dict[str, int] = {"csat": 2, "nps": 6, "ces": 3}


class InvalidEvent(CxpulseError):
    """A record that is not a valid event; ``reason`` is one line naming field and rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    customer_id: CustomerId
    occurred_at: EventTime
    channel: Channel
    service_type: ServiceType
    segment: Segment = "standard"
    # Absent means 1: a record that does not name a version was written for version 1.
    schema_version: Annotated[StrictInt, Field(ge=1, le=SCHEMA_VERSION)] = 1


# Links a contact's start (contact_started) to its end record (an inbound call, a ticket opened).
ContactId = Annotated[str, Field(strict=True, min_length=1, max_length=CONTACT_ID_MAX)]
AgentId = Annotated[str, Field(strict=True, min_length=1, max_length=64)]


class ContactStartedEvent(_EventBase):
    """The customer is contacting us *now* (a call ringing, a chat or ticket being opened).

    Sent by the telephony/ACD, chat or ticket system when the contact begins, so that the
    agent is warned during the contact; the record of the ended contact (a ``call``, a
    ``ticket`` ``opened``) carries the same ``contact_id``. docs/rules.md, "Contacts".
    """

    event_type: Literal["contact_started"]
    contact_id: ContactId
    agent_id: AgentId | None = None
    queue: Annotated[str, Field(strict=True, min_length=1, max_length=64)] | None = None


class CallEvent(_EventBase):
    """A phone or chat call between the customer and an agent (a record of the ended call)."""

    event_type: Literal["call"]
    direction: Literal["inbound", "outbound"]
    wait_seconds: NonNegativeSeconds
    talk_seconds: NonNegativeSeconds
    outcome: Literal["resolved", "unresolved", "transferred", "escalated", "abandoned", "callback"]
    is_complaint: StrictBool = False
    sentiment: Annotated[float, Field(strict=True, ge=-1.0, le=1.0)] | None = None
    agent_id: AgentId | None = None
    contact_id: ContactId | None = None


class TicketEvent(_EventBase):
    """A change to a work order / ticket; ``due_at`` is the promised resolution time."""

    event_type: Literal["ticket"]
    ticket_id: Annotated[str, Field(strict=True, min_length=1, max_length=128)]
    action: Literal["opened", "updated", "escalated", "reopened", "resolved", "closed"]
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    is_complaint: StrictBool = False
    due_at: EventTime | None = None
    contact_id: ContactId | None = None  # links an ``opened`` ticket to its contact_started


def _survey_rules() -> list[JsonValue]:
    """The score-per-survey rule in JSON Schema, so that other languages' validators apply it too."""
    rules: list[JsonValue] = [
        {
            "if": {"properties": {"survey": {"const": survey}}, "required": ["survey"]},
            "then": {"properties": {"score": {"type": "integer", "minimum": low, "maximum": high}}, "required": ["score"]},
        }
        for survey, (low, high) in SURVEY_RANGES.items()
    ]
    rules.append(
        {
            "if": {"properties": {"survey": {"const": "comment"}}, "required": ["survey"]},
            "then": {"properties": {"score": {"type": "null"}}},
        }
    )
    return rules


class FeedbackEvent(_EventBase):
    """A survey response (CSAT, NPS, CES) or a free comment."""

    model_config = ConfigDict(json_schema_extra={"allOf": _survey_rules()})

    event_type: Literal["feedback"]
    survey: Literal["csat", "nps", "ces", "comment"]
    score: StrictInt | None = None
    comment: Annotated[str, Field(strict=True, max_length=MAX_COMMENT_CHARS)] | None = None
    related_ticket_id: Annotated[str, Field(strict=True, min_length=1, max_length=128)] | None = None
    is_complaint: StrictBool = False

    @model_validator(mode="after")
    def _score_fits_survey(self) -> "FeedbackEvent":
        bounds = SURVEY_RANGES.get(self.survey)
        if bounds is None:
            if self.score is not None:
                raise ValueError("score: a comment survey carries no score")
        elif self.score is None:
            raise ValueError(f"score: a {self.survey} survey needs a score")
        elif not bounds[0] <= self.score <= bounds[1]:
            raise ValueError(f"score: a {self.survey} score must be {bounds[0]}..{bounds[1]}")
        return self


class AccountEvent(_EventBase):
    """An outcome: the customer left (cancelled, did not renew, downgraded) or came back.

    It carries no score signal and triggers no rule (docs/rules.md); the backtest joins it
    with the scores and alerts before it (docs/backtest.md). ``channel`` and
    ``service_type`` are optional here: how and about what a customer left is often unknown.
    """

    event_type: Literal["account"]
    channel: Channel = "other"
    service_type: ServiceType = "account"
    action: Literal["cancelled", "not_renewed", "downgraded", "reactivated"]
    # A short code from the producer (e.g. "price", "moved", "service"): bounded, never free text.
    reason: Annotated[str, Field(strict=True, min_length=1, max_length=MAX_REASON_CHARS,
                                 pattern=r"^[A-Za-z0-9._:/ -]+$")] | None = None


Event = Annotated[
    Union[CallEvent, TicketEvent, FeedbackEvent, AccountEvent, ContactStartedEvent],
    Field(discriminator="event_type"),
]
EventAdapter: TypeAdapter[Event] = TypeAdapter(Event)

# Valid records the fast validator must read exactly as EventAdapter does (see fastpath.py).
_SAMPLES = [
    b'{"event_type":"call","event_id":"e-1","customer_id":"C-1","occurred_at":"2024-05-01T10:00:00+02:00",'
    b'"channel":"phone","service_type":"BiLLing","direction":"inbound","wait_seconds":1.5,"talk_seconds":60,'
    b'"outcome":"resolved","sentiment":-0.5,"agent_id":"A-1"}',
    b'{"event_type":"ticket","event_id":"e-2","customer_id":"C-1","occurred_at":"2024-05-01T08:00:00.123456Z",'
    b'"channel":"web","service_type":"repair","segment":"vip","ticket_id":"T-1","action":"opened",'
    b'"priority":"urgent","is_complaint":true,"due_at":"2024-05-02T08:00:00-05:30"}',
    b'{"event_type":"feedback","event_id":"e-3","customer_id":"C-1","occurred_at":"2024-05-01T08:00:00Z",'
    b'"channel":"app","service_type":"billing","survey":"nps","score":6,"schema_version":1}',
    b'{"event_type":"feedback","event_id":"e-4","customer_id":"C-1","occurred_at":"2024-05-01T08:00:00+00:00",'
    b'"channel":"app","service_type":"billing","survey":"comment","comment":"ok","related_ticket_id":"T-1"}',
    b'{"event_type":"contact_started","event_id":"e-5","customer_id":"C-1","occurred_at":"2024-05-01T08:00:00Z",'
    b'"channel":"phone","service_type":"Billing","contact_id":"K-1","agent_id":"A-1","queue":"q1","schema_version":2}',
    b'{"event_type":"call","event_id":"e-6","customer_id":"C-1","occurred_at":"2024-05-01T08:00:00Z",'
    b'"channel":"phone","service_type":"billing","direction":"inbound","wait_seconds":0,"talk_seconds":0,'
    b'"outcome":"abandoned","contact_id":"K-1","schema_version":2}',
    b'{"event_type":"account","event_id":"e-7","customer_id":"C-1","occurred_at":"2024-05-03T08:00:00Z",'
    b'"action":"cancelled","reason":"price","schema_version":2}',
    b'{"event_type":"account","event_id":"e-8","customer_id":"C-1","occurred_at":"2024-05-03T08:00:00+01:00",'
    b'"channel":"web","service_type":"Account","segment":"key","action":"reactivated"}',
]
_FAST = fast_validator(EventAdapter, (CallEvent, TicketEvent, FeedbackEvent, AccountEvent, ContactStartedEvent),
                       # pydantic's types call the decorated method a descriptor; on the class it is the function
                       FeedbackEvent._score_fits_survey,  # type: ignore[arg-type]
                       SURVEY_RANGES, _SAMPLES)
# The hot path's decoder (fastdecode.py): msgspec structs derived from the models above.
_DECODER = fast_decoder(EventAdapter, _SAMPLES)
_DECODE = _DECODER.decode if _DECODER is not None else (lambda raw: None)


def is_inbound_contact(event: Event) -> bool:
    """A contact start, a call with direction inbound, or a ticket opened."""
    if event.event_type == "call":  # on the event itself: mypy narrows the union by it
        return event.direction == "inbound"
    if event.event_type == "ticket":
        return event.action == "opened"
    return event.event_type == "contact_started"


def is_churn(event: Event) -> bool:
    """An account event saying the customer left: cancelled, not renewed or downgraded."""
    return event.event_type == "account" and event.action in CHURN_ACTIONS


def is_dissatisfied(event: Event) -> bool:
    """CSAT <= 2, NPS <= 6 or CES <= 3."""
    if event.event_type != "feedback":
        return False
    limit = DISSATISFIED_AT_OR_BELOW.get(event.survey)
    return limit is not None and event.score is not None and event.score <= limit


def parse_event(raw: bytes | str, *, now: float | None = None, max_future_seconds: float = 86400.0) -> Event:
    """Validate one raw record and return the typed event.

    ``now`` is the moment the record is read (seconds since the epoch); an event that
    occurred more than ``max_future_seconds`` after it is refused. Pass ``now=None``
    to skip that check. Raises :class:`InvalidEvent` with a one-line reason that names the
    field and the rule, never the value (reasons are logged; the dead letter keeps the record).
    """
    try:
        event = _FAST.validate_json(raw) if _FAST is not None else EventAdapter.validate_json(raw)
    except ValidationError:
        # The fast validator accepts a subset; the exact one decides the rest and says why.
        event = _exact(raw)
    if now is not None and event.occurred_at.timestamp() > now + max_future_seconds:
        raise InvalidEvent(f"occurred_at: more than {max_future_seconds:g} s after the time it was read")
    return event


def decode_event(raw: bytes | str, *, now: float | None = None, max_future_seconds: float = 86400.0) -> Any:
    """:func:`parse_event` for the hot path: the same verdict and reason, the event as a fast
    struct with the model's fields and values (``event_type`` included) when the fast decoder
    takes the record, else the model instance :func:`parse_event` gives.

    For readers of the fields (the engine); code that needs the pydantic model (``model_dump``,
    ``isinstance``) calls :func:`parse_event`.
    """
    event = _DECODE(raw)
    if event is None:
        return parse_event(raw, now=now, max_future_seconds=max_future_seconds)
    if now is not None and event.occurred_at.timestamp() > now + max_future_seconds:
        raise InvalidEvent(f"occurred_at: more than {max_future_seconds:g} s after the time it was read")
    return event


def _exact(raw: bytes | str) -> Event:
    try:
        return EventAdapter.validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(_utf8_problem(raw) or describe_errors(exc)) from None


def _utf8_problem(raw: bytes | str) -> str | None:
    """Say "not valid UTF-8" rather than a JSON syntax error when that is the cause."""
    if isinstance(raw, str):
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at position {exc.start}"
    return None


def describe_errors(exc: ValidationError, limit: int = 3) -> str:
    """One line naming each failing field and its rule, e.g. ``score: ...; channel: ...``."""
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:limit]:
        parts.append(_describe(error))
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


EVENT_TYPES = ("call", "ticket", "feedback", "account", "contact_started")
_EVENT_TYPES = ", ".join(f"'{tag}'" for tag in EVENT_TYPES)


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "json_invalid":
        return f"not valid JSON: {error['ctx'].get('error', 'parse error')}"
    loc = [str(part) for part in error["loc"]]
    if not loc and kind in ("model_attributes_type", "model_type", "dict_type", "model_attributes"):
        return "the record must be a JSON object"
    if kind == "union_tag_not_found":
        return f"event_type: required, one of {_EVENT_TYPES}"
    if kind == "union_tag_invalid":
        return f"event_type: must be one of {_EVENT_TYPES}"
    # The first location element is the union tag (call/ticket/feedback); drop it.
    if loc and loc[0] in EVENT_TYPES:
        loc = loc[1:]
    # A field name is the sender's text (an unknown key): one printable line, capped.
    field = ".".join(one_line(part, 64) for part in loc) or "event"
    message = rule_message(error)
    if kind == "value_error" and field == "event":  # a cross-field rule names its field itself ("score: ...")
        return message
    return f"{field}: {message}"


def rule_message(error: Any) -> str:
    """The rule a pydantic error (from ``errors(include_input=False)``) broke, in the contract's words."""
    kind, message, ctx = error["type"], str(error["msg"]), error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field (not in the event contract)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind in ("greater_than_equal", "less_than_equal") and str(ctx.get("ge", ctx.get("le"))) in (EARLIEST_TEXT,
                                                                                                   LATEST_TEXT):
        return TIME_RANGE_RULE
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == SERVICE_TYPE_PATTERN:
        return SERVICE_TYPE_RULE
    return message


def dumps_event(event: Event) -> bytes:
    """Serialise an event to the wire format (JSON, UTF-8, no absent optionals)."""
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))
