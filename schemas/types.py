"""Constrained field types shared by the event and output models."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict

__all__ = [
    "EARLIEST",
    "EARLIEST_TEXT",
    "LATEST",
    "LATEST_TEXT",
    "SERVICE_TYPE_PATTERN",
    "SERVICE_TYPE_RULE",
    "TIME_RANGE_RULE",
    "Channel",
    "CustomerId",
    "EventId",
    "EventTime",
    "NonNegativeSeconds",
    "RiskBand",
    "Segment",
    "ServiceType",
    "Severity",
    "Timestamp",
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
        # "month must be in 1..12" says why; "Invalid isoformat string: '...'" would quote the value.
        why = f" ({exc})" if "'" not in str(exc) else ""
        raise ValueError(f"not a valid date and time{why}") from None


# Strict: a JSON number or a naive time is refused, not guessed at.
Timestamp = Annotated[AwareDatetime, Strict(), BeforeValidator(_rfc3339)]

# The valid range of every time in an event, compared after normalising to UTC. Python's
# datetime holds years 1..9999 in local time only: "0001-01-01T00:00:00+01:00" is year 0 in
# UTC and "9999-12-31T23:00:00-05:00" year 10000, and either fails the first time anything
# converts it (the worker, replay, the read API). No fraction after the last second: the
# float of 23:59:59.99999 rounds up to year 10000. Kafka's record times start at 1970 too.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
EARLIEST_TEXT, LATEST_TEXT = "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
TIME_RANGE_RULE = f"must be between {EARLIEST_TEXT} and {LATEST_TEXT} once converted to UTC"

# Ge/Le before the BeforeValidator: the bounds land in pydantic-core's own datetime check
# (exact, offset-aware), which the fast validator reuses as is.
EventTime = Annotated[
    AwareDatetime,
    Strict(),
    Ge(EARLIEST),
    Le(LATEST),
    BeforeValidator(_rfc3339),
    Field(description=f"RFC 3339 with seconds and an offset; {TIME_RANGE_RULE} (JSON Schema's date-time format "
                      "cannot say so)"),
]

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


# Printable: no control characters (C0, DEL, C1), line or paragraph separators, or
# bidirectional controls. A service type becomes an Alertmanager label, a console line and a
# log field; such characters forged lines and recoloured the console.
SERVICE_TYPE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$"
SERVICE_TYPE_RULE = "must not contain control characters, line separators or bidirectional controls"

ServiceType = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=SERVICE_TYPE_MAX, pattern=SERVICE_TYPE_PATTERN),
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
