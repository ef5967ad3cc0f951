"""What cxpulse writes: alerts, score snapshots and dead letters (docs/rules.md, "Outputs")."""

import base64
import hashlib
from typing import Annotated, Literal

import orjson

from pydantic import BaseModel, ConfigDict, Field

from .types import Channel, CustomerId, EventId, RiskBand, Segment, ServiceType, Severity, Timestamp

__all__ = ["RULES", "AgentBrief", "AgentWarning", "Alert", "DeadLetter", "Grievance", "RecentAlert", "RepeatInfo",
           "Rule", "ScoreSnapshot", "SensitiveInfo", "TicketInfo", "dead_letter", "dead_letter_json"]

Rule = Literal[
    "repeat_contact",
    "sensitive_customer",
    "sensitive_contact",
    "detractor",
    "sla_breach",
    "churn_risk",
    "incident",
]
RULES: tuple[str, ...] = Rule.__args__  # type: ignore[attr-defined]

Score = Annotated[float, Field(ge=0.0, le=100.0)]


class Alert(BaseModel):
    """One alert on ``cx.alerts`` (key: customer_id, or service_type for ``incident``).

    ``alert_id`` is derived from the rule, customer, service type and the triggering
    event or ticket, so a replay of the same events gives the same id. ``triggered_at``
    is event time; ``emitted_at`` is the wall-clock moment it was written (set by the
    process that writes it; ``None`` until then).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: Annotated[str, Field(min_length=1, max_length=128)]
    rule: Rule
    severity: Severity
    status: Literal["firing", "resolved"] = "firing"
    customer_id: CustomerId | None
    service_type: ServiceType
    segment: Segment | None
    score: Score | None
    risk_band: RiskBand | None
    triggered_at: Timestamp
    emitted_at: Timestamp | None = None
    summary: Annotated[str, Field(min_length=1, max_length=500)]
    evidence: list[EventId]


class ScoreSnapshot(BaseModel):
    """A customer's current state on the compacted ``cx.scores`` topic (key: customer_id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: CustomerId
    score: Score
    risk_band: RiskBand
    sensitive: bool
    open_tickets: Annotated[int, Field(ge=0)]
    updated_at: Timestamp
    events_seen: Annotated[int, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grievance(_Frozen):
    """A complaint or dissatisfied response that counts toward sensitivity."""

    event_id: EventId
    service_type: ServiceType
    occurred_at: Timestamp


class SensitiveInfo(_Frozen):
    """Why the customer is sensitive, and until when (``since <= t < until``)."""

    since: Timestamp
    until: Timestamp
    grievances: list[Grievance]  # most recent last, at most ``evidence_limit``


class RepeatInfo(_Frozen):
    """Inbound contacts on one service type within the repeat window up to the moment."""

    service_type: ServiceType
    count: Annotated[int, Field(ge=0)]  # including this contact, for a warning
    window_seconds: float
    first_at: Timestamp | None  # the earliest contact counted
    evidence: list[EventId]  # the event ids of the contacts counted (first record of each contact)


class TicketInfo(_Frozen):
    """An open ticket; ``overdue`` once its due time has passed (by the time the record refers to)."""

    ticket_id: Annotated[str, Field(min_length=1, max_length=128)]
    service_type: ServiceType
    opened_at: Timestamp
    due_at: Timestamp | None
    overdue: bool
    urgent: bool
    complaint: bool


class RecentAlert(_Frozen):
    """One of the customer's recent alerts (``[engine] recent_alerts`` are kept)."""

    alert_id: Annotated[str, Field(min_length=1, max_length=128)]
    rule: Rule
    severity: Severity
    status: Literal["firing", "resolved"]
    service_type: ServiceType
    triggered_at: Timestamp


class AgentBrief(_Frozen):
    """What an agent must know about a customer (``GET /v1/customers/{id}/brief``).

    ``as_of`` is the event time the brief refers to (the customer's latest event);
    ``severity`` is the customer's concern level (``info``: no concerns).
    """

    customer_id: CustomerId
    segment: Segment
    priority_lane: bool  # vip, key and vulnerable customers: serve in the priority lane
    as_of: Timestamp | None
    emitted_at: Timestamp | None = None
    score: Score
    risk_band: RiskBand
    severity: Severity
    summary: Annotated[str, Field(min_length=1, max_length=500)]
    sensitive: SensitiveInfo | None
    repeat: list[RepeatInfo]  # one per service type with a contact in the window
    tickets: list[TicketInfo]
    recent_alerts: list[RecentAlert]  # most recent first


class AgentWarning(_Frozen):
    """One record on ``cx.agent-warnings`` (key: customer_id): emitted for every contact start.

    ``warning_id`` is derived from the customer and the start's ``event_id``; ``started_at``
    is the start's event time, ``emitted_at`` the wall-clock moment it was written.
    ``severity`` is the highest of the alerts it carries, or the concern level the
    customer's state gives when those alerts are held back by their cooldown (``info``:
    no concerns). ``alerts`` are the ids of the alerts emitted with it on ``cx.alerts``.
    """

    warning_id: Annotated[str, Field(min_length=1, max_length=128)]
    customer_id: CustomerId
    contact_id: Annotated[str, Field(min_length=1, max_length=128)]
    event_id: EventId
    service_type: ServiceType
    channel: Channel
    agent_id: str | None
    queue: str | None
    segment: Segment
    priority_lane: bool
    started_at: Timestamp
    emitted_at: Timestamp | None = None
    score: Score
    risk_band: RiskBand
    severity: Severity
    summary: Annotated[str, Field(min_length=1, max_length=500)]
    first_record: bool  # false: the contact was already known (a repeated or late start); no alert fires
    sensitive: SensitiveInfo | None
    repeat: RepeatInfo
    tickets: list[TicketInfo]
    recent_alerts: list[RecentAlert]
    alerts: list[Annotated[str, Field(min_length=1, max_length=128)]]


class DeadLetter(BaseModel):
    """An invalid record on ``cx.events.dlq``, with why and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error: Annotated[str, Field(min_length=1)]
    source_topic: str
    partition: int | None
    offset: int | None
    key: str | None
    raw: str
    raw_encoding: Literal["base64"] | None = None
    # The source mapping (docs/sources.md) that could not map ``raw``; absent for an invalid event.
    source: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Set only when ``raw`` holds the first bytes of the value, not all of it (a letter must fit its topic).
    raw_truncated: bool | None = None
    raw_size: Annotated[int, Field(ge=0)] | None = None  # the original value's size in bytes
    raw_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None  # of the original value
    key_size: Annotated[int, Field(ge=0)] | None = None  # set when ``key`` was cut to its first bytes


DEAD_LETTER_RAW_MAX = 2 * 1024 * 1024
"""Characters of ``raw`` a dead letter holds at most (base64 of the first 1.5 MiB); any record of a 1 MiB topic fits whole."""
DEAD_LETTER_KEY_MAX = 1024
"""Bytes of the original key a dead letter keeps."""
DEAD_LETTER_ERROR_MAX = 2000
"""Characters of the reason a dead letter keeps."""


def _escaped_length(text: str) -> int:
    """Bytes of ``text`` inside a JSON string (UTF-8): control characters, quotes and backslashes grow (\\u0001 is 6)."""
    return len(orjson.dumps(text)) - 2


def _encode_raw(raw: bytes, limit: int) -> tuple[str, Literal["base64"] | None, bool]:
    """``(raw, raw_encoding, truncated)``: UTF-8 text unless not UTF-8, or its JSON escaping makes it
    larger than base64 (or than ``limit``), in which case base64 of the value, cut to ``limit`` characters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and _escaped_length(text) <= min(limit, len(raw) * 4 // 3 + 4):
        return text, None, False
    truncated = (len(raw) + 2) // 3 * 4 > limit
    if truncated:
        raw = raw[: limit // 4 * 3]
    return base64.b64encode(raw).decode("ascii"), "base64", truncated


def dead_letter(
    error: str,
    raw: bytes,
    *,
    source_topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    source: str | None = None,
) -> DeadLetter:
    """Build the DLQ record for ``raw``: text when it is UTF-8 (and escapes no larger than base64), base64 otherwise.

    A letter always fits its topic: ``raw`` is cut to :data:`DEAD_LETTER_RAW_MAX` characters
    (base64 of the first bytes; ``raw_truncated``, ``raw_size`` and ``raw_sha256`` of the whole
    value are then set), the key to :data:`DEAD_LETTER_KEY_MAX` bytes (``key_size``) and the
    reason to :data:`DEAD_LETTER_ERROR_MAX` characters.
    """
    text, encoding, truncated = _encode_raw(raw, DEAD_LETTER_RAW_MAX)
    key_size = None
    if key is not None and len(key) > DEAD_LETTER_KEY_MAX:
        key_size, key = len(key), key[:DEAD_LETTER_KEY_MAX]
    if len(error) > DEAD_LETTER_ERROR_MAX:
        error = error[: DEAD_LETTER_ERROR_MAX - 1] + "…"
    return DeadLetter(
        error=error,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=None if key is None else key.decode("utf-8", errors="replace"),
        raw=text,
        raw_encoding=encoding,
        source=source,
        raw_truncated=True if truncated else None,
        raw_size=len(raw) if truncated else None,
        raw_sha256=hashlib.sha256(raw).hexdigest() if truncated else None,
        key_size=key_size,
    )


def dead_letter_json(letter: DeadLetter) -> bytes:
    """The letter as the DLQ topic's value: the nullable required fields kept (``"key": null``), the
    optional ones only when set (``exclude_none`` would drop a null key and break the schema)."""
    unset = {name for name in ("raw_encoding", "source", "raw_truncated", "raw_size", "raw_sha256", "key_size")
             if getattr(letter, name) is None}
    return letter.model_dump_json(exclude=unset).encode("utf-8")
