"""Constrained field types shared by the event and output models."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict

__all__ = [
    "Channel",
    "CustomerId",
    "EventId",
    "RiskBand",
    "Segment",
    "ServiceType",
    "Severity",
    "Timestamp",
    "NonNegativeSeconds",
]

# RFC 3339 section 5.6 (as JSON Schema's format: date-time reads it): seconds and an offset are
# required. pydantic alone would also take "1714550400", "10:00Z" or "+0200".
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # a datetime built in Python; JSON numbers are refused by the strict type
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 timestamp with seconds and an offset, e.g. 2024-05-01T10:00:00+02:00")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError as exc:
        raise ValueError(f"not a valid date and time ({exc})") from None


# Strict: a JSON number or a naive time is refused, not guessed at.
Timestamp = Annotated[AwareDatetime, Strict(), BeforeValidator(_rfc3339)]

EventId = Annotated[str, Strict(), Field(min_length=1, max_length=128)]

CustomerId = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"),
]

SERVICE_TYPE_MAX = 40


def _lower(value: str) -> str:
    # Some letters grow when lower-cased ("İ" -> "i̇"): the stored value must still fit,
    # or the event would not survive its own round trip.
    lowered = value.lower()
    if len(lowered) > SERVICE_TYPE_MAX:
        raise ValueError(f"longer than {SERVICE_TYPE_MAX} characters once lower-cased")
    return lowered


ServiceType = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=SERVICE_TYPE_MAX),
    AfterValidator(_lower),
]

NonNegativeSeconds = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]

Channel = Literal["phone", "web", "app", "email", "chat", "counter", "social", "other"]
Segment = Literal["standard", "key", "vip", "vulnerable"]
Severity = Literal["info", "warning", "critical"]
RiskBand = Literal["healthy", "at_risk", "critical"]


def epoch(moment: datetime) -> float:
    """Seconds since the Unix epoch of an aware datetime."""
    return moment.timestamp()
