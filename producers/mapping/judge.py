"""A source record judged end to end: mapped, then every event checked against the contract.

:func:`judge_record` (a decoded JSON value) and :func:`judge_bytes` (a raw Kafka value or
file line) return :class:`Events` (the Kafka records to produce: key = customer_id, value
= the event's JSON, exactly as ``/v1/events`` would accept them), :class:`Skipped` (the
mapping ignores the record) or :class:`Failed` with the reason — which field, expression
and rule, never a value — as one line for dead letters and as a list for HTTP answers.
"""

from dataclasses import dataclass
from typing import Any

import orjson
from cxpulse.producers.intake import Accepted, FieldError, Rejected, check_item

from .mapper import Ignored, Mapped, Mapper, Unmappable

__all__ = ["Events", "Failed", "Skipped", "judge_bytes", "judge_record"]


@dataclass(frozen=True)
class Events:
    """The record's events, valid: ``accepted[i].key``/``.value``/``.identity`` as the gateway's."""

    accepted: tuple[Accepted, ...]


@dataclass(frozen=True)
class Skipped:
    """The mapping's ``ignore`` expression holds for this record."""


@dataclass(frozen=True)
class Failed:
    """The record cannot become valid events: ``errors`` per field, ``reason`` in one line."""

    errors: tuple[FieldError, ...]
    reason: str


def judge_record(mapper: Mapper, record: Any, now: float, max_future_seconds: float) -> Events | Skipped | Failed:
    """Map ``record`` and check each event exactly as a consumer of ``cx.events`` would."""
    outcome = mapper.map(record)
    if isinstance(outcome, Ignored):
        return Skipped()
    if isinstance(outcome, Unmappable):
        return _failed(mapper, outcome.rule, [FieldError(p.field, p.reason) for p in outcome.problems])
    return _checked(mapper, outcome, now, max_future_seconds)


def judge_bytes(mapper: Mapper, raw: bytes | None, now: float, max_future_seconds: float) -> Events | Skipped | Failed:
    """:func:`judge_record` of a raw value; bytes that are not JSON fail as a whole."""
    try:
        record = orjson.loads(raw if raw is not None else b"")
    except orjson.JSONDecodeError:
        return _failed(mapper, None, [FieldError("record", _not_json(raw or b""))])
    return judge_record(mapper, record, now, max_future_seconds)


def _not_json(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    return "not valid JSON" if raw.strip() else "empty record"


def _checked(mapper: Mapper, mapped: Mapped, now: float, max_future_seconds: float) -> Events | Failed:
    accepted = []
    for event in mapped.events:
        result = check_item(0, event.data, now, max_future_seconds)
        if isinstance(result, Rejected):
            errors = [_explain(event.rule, error) for error in result.errors]
            return _failed(mapper, event.rule.name, errors)
        accepted.append(result)
    return Events(tuple(accepted))


def _explain(rule: Any, error: FieldError) -> FieldError:
    """Name the expression behind a contract error, or say that the rule does not set the field."""
    top = error.field.split(".")[0]
    source = rule.source_of(top)
    if source is None:
        if "required" in error.reason.lower():
            return FieldError(error.field, f"required by the event contract; rule {rule.name} does not set it")
        return error
    if "required" in error.reason.lower():
        return FieldError(error.field, f"required by the event contract; {source} gave no value")
    return FieldError(error.field, f"{error.reason} (mapped from {source})")


def _failed(mapper: Mapper, rule: str | None, errors: list[FieldError]) -> Failed:
    where = f"source {mapper.name}" + (f", rule {rule}" if rule else "")
    details = "; ".join(f"{error.field}: {error.reason}" for error in errors[:3])
    if len(errors) > 3:
        details += f"; and {len(errors) - 3} more"
    return Failed(tuple(errors), f"{where}: {details}")
