"""What cxpulse writes: alerts, score snapshots and dead letters (docs/rules.md, "Outputs")."""

import base64
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .types import CustomerId, EventId, RiskBand, Segment, ServiceType, Severity, Timestamp

__all__ = ["RULES", "Alert", "DeadLetter", "Rule", "ScoreSnapshot", "dead_letter", "dead_letter_json"]

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
    """Build the DLQ record for ``raw``: text when it is UTF-8, base64 otherwise."""
    try:
        text, encoding = raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    return DeadLetter(
        error=error,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=None if key is None else key.decode("utf-8", errors="replace"),
        raw=text,
        raw_encoding=encoding,
        source=source,
    )


def dead_letter_json(letter: DeadLetter) -> bytes:
    """The letter as the DLQ topic's value: the nullable required fields kept (``"key": null``), the
    optional ones only when set (``exclude_none`` would drop a null key and break the schema)."""
    unset = {name for name in ("raw_encoding", "source") if getattr(letter, name) is None}
    return letter.model_dump_json(exclude=unset).encode("utf-8")
