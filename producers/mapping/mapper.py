"""A compiled source mapping: one record of another system in, event dicts (or why not) out.

:class:`Mapper` compiles every JMESPath expression of a :class:`~.spec.MappingFile` once
and applies them to records: :meth:`Mapper.map` returns :class:`Mapped` (one event dict per
rule that applies), :class:`Ignored` (the mapping's ``ignore`` holds) or :class:`Unmappable`
(which field, expression and rule failed; never the value). The event contract is checked
afterwards (:mod:`.judge`), so a mapping cannot write an event the worker would refuse.
"""

import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jmespath
from jmespath import exceptions as jmes_errors
from jmespath import visitor

from cxpulse.errors import ConfigError

from .functions import MappingFunctions, parse_time
from .spec import Alternative, EventRule, MappingFile, _alternatives

__all__ = ["CompiledRule", "Ignored", "Mapped", "MappedEvent", "Mapper", "Problem", "Unmappable"]

_OPTIONS = jmespath.Options(custom_functions=MappingFunctions())
# One interpreter for every search: ParsedResult.search builds a new one per call, which doubles its cost.
_INTERPRETER = visitor.TreeInterpreter(_OPTIONS)
_HASH_CHARS = 32  # 128 bits of HMAC-SHA256: collisions are out of reach for any customer base
_NOT_PHONE = re.compile(r"[^0-9+]")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Problem:
    """Why a field (``record`` for the record as a whole) could not be mapped; names no value."""

    field: str
    reason: str


@dataclass(frozen=True)
class MappedEvent:
    """One event dict and the rule that made it."""

    rule: "CompiledRule"
    data: dict[str, Any]


@dataclass(frozen=True)
class Mapped:
    events: tuple[MappedEvent, ...]


@dataclass(frozen=True)
class Ignored:
    """The mapping's ``ignore`` expression held: nothing to send, nothing wrong."""


@dataclass(frozen=True)
class Unmappable:
    rule: str | None
    problems: tuple[Problem, ...]


class _Failure(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


@dataclass(frozen=True)
class _Step:
    """A compiled :class:`~.spec.Alternative`."""

    source: str  # the expression as written (or the constant), for reasons
    expr: Any
    value: Any
    when: Any
    when_source: str | None
    table: dict[str, Any] | None
    table_name: str | None
    conversion: str | None
    hash: str | None
    prefix: str
    default: Any


@dataclass(frozen=True)
class CompiledRule:
    name: str
    event_type: str
    when: Any
    fields: dict[str, tuple[_Step, ...]]

    def source_of(self, field: str) -> str | None:
        """The expression(s) that compute ``field``, as written, for a reason; None if the rule does not set it."""
        steps = self.fields.get(field)
        if not steps:
            return None
        return " or ".join(dict.fromkeys(_quote(step.source) for step in steps))


class Mapper:
    """A mapping ready to apply; raises :class:`ConfigError` for a bad expression or a missing hash key."""

    def __init__(self, mapping: MappingFile, hash_key: str | None = None, origin: str | None = None) -> None:
        self.name = mapping.name
        self.mapping = mapping
        self._origin = origin or mapping.name
        self._key = hash_key.encode("utf-8") if hash_key else None
        self._root = self._compile(mapping.root, "root")
        self._ignore = self._compile(mapping.ignore, "ignore")
        self.rules = tuple(self._rule(index, rule) for index, rule in enumerate(mapping.events))

    # --- compiling ---------------------------------------------------------------------

    def _compile(self, text: str | None, where: str) -> Any:
        if text is None:
            return None
        try:
            parsed = jmespath.compile(text)
            parsed.search({}, options=_OPTIONS)  # unknown functions and wrong arity show only when run
        except (jmes_errors.UnknownFunctionError, jmes_errors.ArityError, jmes_errors.ParseError) as exc:
            problem = str(exc).splitlines()[0]
            raise ConfigError(f"source mapping {self._origin}: {where}: {text!r} is not a valid JMESPath expression ({problem})") from None
        except jmes_errors.JMESPathError:
            pass  # a type error on the empty probe record says nothing about real records
        return parsed

    def _rule(self, index: int, rule: EventRule) -> CompiledRule:
        name = rule.name or f"{rule.event_type}#{index + 1}"
        fields = {field: tuple(self._step(f"{name}.{field}", alt) for alt in _alternatives(spec))
                  for field, spec in rule.fields.items()}  # fmt: skip
        return CompiledRule(name, rule.event_type, self._compile(rule.when, f"{name}.when"), fields)

    def _step(self, where: str, alt: Alternative) -> _Step:
        if alt.hash is not None and self._key is None:
            raise ConfigError(f"source mapping {self._origin} hashes {where.split('.')[-1]} ({where}): "
                              "set sources.hash_key (e.g. CXPULSE_SOURCES__HASH_KEY) to a secret of 16+ characters")  # fmt: skip
        table = self.mapping.maps.get(alt.map) if alt.map else None
        return _Step(
            source=alt.expr if alt.expr is not None else f"value {alt.value}",
            expr=self._compile(alt.expr, where), value=alt.value,
            when=self._compile(alt.when, f"{where}.when"), when_source=alt.when,
            table=table, table_name=alt.map, conversion=alt.type, hash=alt.hash, prefix=alt.prefix,
            default=alt.default,
        )  # fmt: skip

    # --- applying ----------------------------------------------------------------------

    def map(self, record: Any) -> Mapped | Ignored | Unmappable:
        """The events ``record`` maps to, :class:`Ignored`, or :class:`Unmappable` with the reasons."""
        if not isinstance(record, dict):
            return Unmappable(None, (Problem("record", "each record must be a JSON object"),))
        try:
            if self._root is not None:
                record = _search(self._root, record, "record", self.mapping.root or "root")
                if not isinstance(record, dict):
                    return Unmappable(None, (Problem("record", f"root {_quote(self.mapping.root or '')} does not give a JSON object"),))
            if self._ignore is not None and _truthy(_search(self._ignore, record, "record", self.mapping.ignore or "ignore")):
                return Ignored()
            rules = [rule for rule in self.rules if rule.when is None or _truthy(_search(rule.when, record, "record", f"{rule.name}.when"))]
        except _Failure as exc:
            return Unmappable(None, (exc.problem,))
        if not rules:
            return Unmappable(None, (Problem("record", "no [[events]] rule applies to this record"),))
        events = []
        for rule in rules:
            try:
                events.append(MappedEvent(rule, self._event(rule, record)))
            except _Failure as exc:
                return Unmappable(rule.name, (exc.problem,))
        ids = [event.data.get("event_id") for event in events]
        if len(set(map(str, ids))) < len(ids):
            return Unmappable(None, (Problem("event_id", "two [[events]] rules give this record the same event_id"),))
        return Mapped(tuple(events))

    def _event(self, rule: CompiledRule, record: dict) -> dict[str, Any]:
        event: dict[str, Any] = {"event_type": rule.event_type}
        for field, steps in rule.fields.items():
            value = self._field(field, steps, record)
            if value is not _ABSENT:
                event[field] = value
        return event

    def _field(self, field: str, steps: tuple[_Step, ...], record: dict) -> Any:
        for step in steps:
            if step.when is not None and not _truthy(_search(step.when, record, field, step.when_source or "")):
                continue
            value = step.value if step.expr is None else _search(step.expr, record, field, step.source)
            if value is None:
                if step.default is not None:
                    return step.default
                continue
            if step.table is not None:
                key = _table_key(value)
                if key in step.table:
                    value = step.table[key]
                elif step.default is not None:
                    return step.default
                else:
                    raise _Failure(Problem(field, f"the value of {_quote(step.source)} is not in [maps.{step.table_name}]"))
            if step.conversion is not None:
                value = _convert(value, step.conversion, field, step.source)
            if step.hash is not None:
                value = self._hash(value, step, field)
                if value is None:
                    continue
            return value
        return _ABSENT

    def _hash(self, value: Any, step: _Step, field: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Failure(Problem(field, f"{_quote(step.source)} must give text to hash"))
        text = str(value).strip()
        if step.hash == "email":
            text = text.lower()
        elif step.hash == "phone":
            text = _NOT_PHONE.sub("", text.removeprefix("tel:"))
        if not text:
            return None
        assert self._key is not None  # checked when compiled
        digest = hmac.new(self._key, f"{step.hash}:{text}".encode(), hashlib.sha256).hexdigest()
        return step.prefix + digest[:_HASH_CHARS]


def _quote(source: str) -> str:
    return f'"{source}"'


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _search(expr: Any, record: dict, field: str, source: str) -> Any:
    try:
        return _INTERPRETER.visit(expr.parsed, record)
    except jmes_errors.JMESPathTypeError as exc:
        expected = ", ".join(exc.expected_types)
        raise _Failure(Problem(field, f"{_quote(source)}: {exc.function_name}() takes {expected}, not {exc.actual_type}")) from None
    except jmes_errors.JMESPathError:
        raise _Failure(Problem(field, f"{_quote(source)} failed on this record")) from None


def _truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; 0 is true."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _table_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _convert(value: Any, kind: str, field: str, source: str) -> Any:
    result = _CONVERSIONS[kind](value)
    if result is None:
        raise _Failure(Problem(field, f"{_quote(source)} is not {_ARTICLE[kind]}"))
    return result


def _to_string(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, (str, int, float)) else None


def _to_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if _INTEGER.fullmatch(value.strip()) else float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def _to_integer(value: Any) -> int | None:
    number = _to_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def _to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text or "")


def _to_timestamp(value: Any) -> str | None:
    moment = parse_time(value) if isinstance(value, str) else None
    return None if moment is None else moment.isoformat()


def _epoch(scale: float) -> Any:
    def convert(value: Any) -> str | None:
        number = _to_number(value)
        if number is None:
            return None
        try:
            return datetime.fromtimestamp(number / scale, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None

    return convert


_CONVERSIONS = {
    "string": _to_string, "integer": _to_integer, "number": _to_number, "boolean": _to_boolean,
    "timestamp": _to_timestamp, "epoch_seconds": _epoch(1.0), "epoch_ms": _epoch(1000.0),
}  # fmt: skip
_ARTICLE = {
    "string": "text", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "timestamp": "a timestamp with a UTC offset", "epoch_seconds": "seconds since the epoch",
    "epoch_ms": "milliseconds since the epoch",
}  # fmt: skip
