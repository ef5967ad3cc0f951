"""The functions a mapping's JMESPath expressions may call beyond JMESPath's own.

JMESPath (https://jmespath.org) has no arithmetic, no dynamic key lookup and no string
normalising; these few fill the gaps mappings of contact-centre systems need:

    slug(text)                  "Billing Queue 2" -> "billing-queue-2" (a service_type: at most 40 chars)
    lower(text)                 lower case
    get(object, key)            object[key], or null (a key computed from the record)
    seconds_between(a, b)       seconds from timestamp a to b (RFC 3339 strings), or null if either is null
    divide(number, by)          number / by (milliseconds to seconds: divide(durationMs, `1000`))
"""

import re
from datetime import datetime
from typing import Any

from jmespath import functions

__all__ = ["MappingFunctions", "parse_time"]

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 40


def parse_time(text: str) -> datetime | None:
    """An aware datetime from an ISO 8601 / RFC 3339 string (``Z`` or an offset), else None."""
    try:
        moment = datetime.fromisoformat(_trim_fraction(text.strip()).replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _trim_fraction(text: str) -> str:
    # Some systems write nanoseconds ("...45.465719851Z"); Python keeps microseconds.
    return _FRACTION.sub(r"\1", text)


class MappingFunctions(functions.Functions):
    """JMESPath's functions plus the ones in the module docstring."""

    @functions.signature({"types": ["string", "null"]})
    def _func_slug(self, text: str | None) -> str | None:
        if text is None:
            return None
        return _NOT_SLUG.sub("-", text.lower()).strip("-")[:SLUG_MAX].rstrip("-") or None

    @functions.signature({"types": ["string", "null"]})
    def _func_lower(self, text: str | None) -> str | None:
        return None if text is None else text.lower()

    @functions.signature({"types": ["object", "null"]}, {"types": ["string", "number", "null"]})
    def _func_get(self, mapping: dict | None, key: Any) -> Any:
        if mapping is None or key is None:
            return None
        return mapping.get(key if isinstance(key, str) else str(key))

    @functions.signature({"types": ["string", "null"]}, {"types": ["string", "null"]})
    def _func_seconds_between(self, start: str | None, end: str | None) -> float | None:
        if start is None or end is None:
            return None
        first, last = parse_time(start), parse_time(end)
        if first is None or last is None:
            return None
        return (last - first).total_seconds()

    @functions.signature({"types": ["number", "null"]}, {"types": ["number"]})
    def _func_divide(self, number: float | None, by: float) -> float | None:
        if number is None or by == 0:
            return None
        return number / by
