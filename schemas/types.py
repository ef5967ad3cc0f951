"""Constrained field types shared by the event and output models."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, Strict

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

# RFC 3339 with an offset. Strict: a JSON number or a naive time is refused, not guessed at.
Timestamp = Annotated[AwareDatetime, Strict()]

EventId = Annotated[str, Strict(), Field(min_length=1, max_length=128)]

CustomerId = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"),
]

ServiceType = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=40),
    AfterValidator(str.lower),
]

NonNegativeSeconds = Annotated[float, Strict(), Field(ge=0)]

Channel = Literal["phone", "web", "app", "email", "chat", "counter", "social", "other"]
Segment = Literal["standard", "key", "vip", "vulnerable"]
Severity = Literal["info", "warning", "critical"]
RiskBand = Literal["healthy", "at_risk", "critical"]


def epoch(moment: datetime) -> float:
    """Seconds since the Unix epoch of an aware datetime."""
    return moment.timestamp()
