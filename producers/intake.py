"""What the ingest gateway makes of a request body, with no I/O: items checked one by one.

:func:`decode_body` turns the body into a list of items (one object, or an array of up
to ``max_items``) or raises :class:`BadBody`. :func:`check_item` validates one item with
:func:`cxpulse.schemas.parse_event` and returns :class:`Accepted` (the Kafka key and
value) or :class:`Rejected` (the fields and rules that failed).

Reasons sent to clients name the field and the rule only, never the value: pydantic's
messages are taken without their input, values quoted by a rule (a score, a tag, a
date) are cut, and a field name that is not identifier-like is not echoed.
"""

import re
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from cxpulse.schemas import InvalidEvent, parse_event
from cxpulse.schemas.events import EVENT_TYPES, EventAdapter, rule_message

__all__ = ["Accepted", "BadBody", "FieldError", "Rejected", "check_item", "decode_body"]

MAX_ERRORS = 10
MAX_NESTING = 254  # the deepest orjson writes; no field of the contract comes near it
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TAGS = EVENT_TYPES
_TYPES = ", ".join(f"'{tag}'" for tag in _TAGS)
_QUOTED = re.compile(r",? got .*$|\s*\(.*\)$")  # "..., got 11", "... (Invalid isoformat string: '...')"


class BadBody(ValueError):
    """The body as a whole is unusable (400); ``reason`` says why without quoting it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FieldError:
    """One failed rule: ``field`` (dotted path, ``event`` for the whole item) and ``reason``."""

    field: str
    reason: str


@dataclass(frozen=True)
class Accepted:
    """A valid item: the record to produce and the (customer_id, event_id) it is de-duplicated by."""

    index: int
    key: bytes
    value: bytes
    identity: tuple[str, str]


@dataclass(frozen=True)
class Rejected:
    """An invalid item and why."""

    index: int
    errors: tuple[FieldError, ...]


def decode_body(body: bytes, max_items: int) -> list[Any]:
    """One JSON object -> ``[it]``; a JSON array of 1..``max_items`` -> its items; else :class:`BadBody`."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBody(_json_problem(body, exc)) from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise BadBody("the body must be a JSON object (one event) or an array of events")
    if not document:
        raise BadBody("the array is empty")
    if len(document) > max_items:
        raise BadBody(f"the array has {len(document)} items; at most {max_items} per request")
    return document


def _json_problem(body: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"the body is not valid UTF-8 (at byte {bad.start})"
    if not body.strip():
        return "the body is empty"
    # orjson's message names the problem and its position, never the text around it.
    return f"the body is not valid JSON: {exc.msg} at position {exc.pos}"


def check_item(index: int, item: Any, now: float, max_future_seconds: float) -> Accepted | Rejected:
    """Validate one decoded item exactly as a consumer of ``cx.events`` would."""
    try:
        raw = orjson.dumps(item)
    except orjson.JSONEncodeError:  # orjson reads 1024 levels of nesting but writes 254
        return Rejected(index, (FieldError(_too_deep(item), f"nested more than {MAX_NESTING} levels deep"),))
    try:
        event = parse_event(raw, now=now, max_future_seconds=max_future_seconds)
    except InvalidEvent:
        return Rejected(index, _errors_of(raw, max_future_seconds))
    return Accepted(index, event.customer_id.encode("utf-8"), raw, (event.customer_id, event.event_id))


def _too_deep(item: Any) -> str:
    """The field that holds the deep nesting (``event`` when it is the item itself)."""
    if isinstance(item, dict):
        for key, value in item.items():
            try:
                orjson.dumps({key: value})
            except orjson.JSONEncodeError:
                return _safe_part(key)
    return "event"


def _errors_of(raw: bytes, max_future_seconds: float) -> tuple[FieldError, ...]:
    """The same validation again, for its structured errors (only invalid items pay for this)."""
    try:
        EventAdapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        return tuple(_field_error(error) for error in errors[:MAX_ERRORS])
    # Well-formed, so parse_event refused it for its time.
    return (FieldError("occurred_at", f"more than {max_future_seconds:g} s after the time it was received"),)


def _field_error(error: Any) -> FieldError:
    kind = error["type"]
    loc = list(error["loc"])
    if loc and loc[0] in _TAGS:
        loc = loc[1:]  # the discriminator's branch, not a field
    field = ".".join(_safe_part(part) for part in loc) or "event"
    if kind == "union_tag_not_found":
        return FieldError("event_type", f"required, one of {_TYPES}")
    if kind == "union_tag_invalid":
        return FieldError("event_type", f"must be one of {_TYPES}")
    if not loc and kind in ("model_attributes_type", "model_type", "dict_type"):
        return FieldError("event", "each event must be a JSON object")
    if kind == "extra_forbidden":
        return FieldError(field, "unknown field (not in the event contract)")
    message = rule_message(error)
    if kind == "value_error" and field == "event" and ": " in message:  # a cross-field rule names its field ("score: ...")
        named, message = message.split(": ", 1)
        field = _safe_part(named)
    return FieldError(field, _QUOTED.sub("", message)[:200])


def _safe_part(part: Any) -> str:
    if isinstance(part, int):
        return str(part)
    return part if _FIELD.fullmatch(str(part)) else "<field>"
