"""A faster validator for the common case, with the exact one behind it.

:func:`~cxpulse.schemas.parse_event` runs on every record a consumer reads. The event
models validate in pydantic-core (Rust) except three rules written in Python: the RFC 3339
check of timestamps (a regex, then ``datetime.fromisoformat``), the lower-casing of
``service_type`` and the feedback score-per-survey rule. Each Python call from the
validator costs about a microsecond, a quarter of the parse.

:func:`fast_validator` builds a second validator from the models' own core schema with
those three rules expressed in pydantic-core, producing instances of the same classes:

- a timestamp must match a *narrower* pattern (ASCII digits, upper-case ``T`` and ``Z``),
  then goes to ``datetime.fromisoformat`` (a C function, called from Rust without a Python
  frame) — the very call the exact rule makes on the same string, so the value is the same;
- ``service_type`` goes through ``str.lower`` (a C method) and a length check after it —
  the exact rule, in the same order;
- a feedback event is validated by a union on ``survey``: ``score`` an integer in the
  survey's range (required) or, for a comment, nothing.

The time range (1970..9999 in UTC) and the printable pattern of ``service_type`` are
pydantic-core constraints of the exact schema already; both validators run them as they are.

It accepts a subset of what the exact validator accepts, with identical results. The
caller runs the exact validator whenever the fast one refuses a record, so verdicts and
reasons are the exact validator's, always (``tests/unit/schemas/test_fastpath.py``
checks both claims on generated input). A self-check at import falls back to the exact
validator alone if a pydantic release ever builds these schemas differently.
"""

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema

from .types import SERVICE_TYPE_MAX, _lower, _rfc3339

__all__ = ["FAST_RFC3339", "fast_validator"]

# The exact rule's pattern (types._RFC3339) with ASCII digits and upper-case letters only:
# what matches here matches there, and ``value.upper()`` is ``value``.
FAST_RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$"


def _timestamp(exact: Mapping[str, Any]) -> core_schema.CoreSchema:
    """Pattern, then ``datetime.fromisoformat``, then the exact rule's own datetime check."""
    return core_schema.chain_schema([
        core_schema.str_schema(strict=True, pattern=FAST_RFC3339),
        core_schema.no_info_plain_validator_function(datetime.fromisoformat),
        copy.deepcopy(dict(exact["schema"])),
    ])


def _service_type(exact: Mapping[str, Any]) -> core_schema.CoreSchema:
    """The exact rule's string check, ``str.lower``, then the length once lower-cased."""
    return core_schema.chain_schema([
        copy.deepcopy(dict(exact["schema"])),
        core_schema.no_info_plain_validator_function(str.lower),
        core_schema.str_schema(max_length=SERVICE_TYPE_MAX),
    ])


def _function(node: Mapping[str, Any]) -> Any:
    spec = node.get("function")
    return spec.get("function") if isinstance(spec, Mapping) else None


def _by_survey(model: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
    """A feedback model whose fields are chosen by ``survey``, ``score`` constrained per survey."""
    fields_schema = model["schema"]
    choices: dict[Any, Any] = {}
    for survey in (*ranges, "comment"):
        fields = dict(fields_schema["fields"])
        if survey in ranges:
            low, high = ranges[survey]
            score: core_schema.CoreSchema = core_schema.int_schema(strict=True, ge=low, le=high)
        else:
            score = core_schema.with_default_schema(core_schema.none_schema(), default=None)
        fields["score"] = {**fields["score"], "schema": score}
        choices[survey] = {**fields_schema, "fields": fields}
    return {**model, "schema": core_schema.tagged_union_schema(choices, discriminator="survey")}


def _rewrite(node: Any, feedback_rule: Callable[..., Any], ranges: Mapping[str, tuple[int, int]]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, feedback_rule, ranges) for item in node]
    if not isinstance(node, dict):
        return node
    kind, function = node.get("type"), _function(node)
    if kind == "function-before" and function is _rfc3339:
        return _timestamp(node)
    if kind == "function-after" and function is _lower:
        return _service_type(node)
    if kind == "function-after" and getattr(function, "__func__", function) is feedback_rule:
        return _by_survey(_rewrite(node["schema"], feedback_rule, ranges), ranges)
    return {key: _rewrite(value, feedback_rule, ranges) for key, value in node.items()}


def _build(schema: Any, classes: Iterable[type[BaseModel]]) -> SchemaValidator:
    # pydantic-core reuses a model class's own validator when a schema names a finished
    # class (its "prebuilt" shortcut), which would bring the Python rules back. Marking the
    # classes unfinished while this one validator is built makes it use the schema given.
    classes = list(classes)
    try:
        for cls in classes:
            cls.__pydantic_complete__ = False
        return SchemaValidator(schema)
    finally:
        for cls in classes:
            cls.__pydantic_complete__ = True


def _kind(value: Any) -> tuple[type, ...]:
    return (type(value), type(value.tzinfo)) if isinstance(value, datetime) else (type(value),)


def fast_validator(exact: Any, classes: Iterable[type[BaseModel]], feedback_rule: Callable[..., Any],
                   ranges: Mapping[str, tuple[int, int]], samples: Iterable[bytes]) -> SchemaValidator | None:
    """The fast validator for the event union ``exact`` (a ``TypeAdapter``), or ``None``.

    ``samples`` are valid records: the fast validator must accept each and give exactly
    what ``exact`` gives (same class, fields, fields set), and must not run ``feedback_rule``
    or the Python rules; otherwise ``None`` (use ``exact`` alone).
    """
    classes = list(classes)
    try:
        fast = _build(_rewrite(exact.core_schema, feedback_rule, ranges), classes)
        for raw in samples:
            mine, theirs = fast.validate_json(raw), exact.validate_json(raw)
            if (type(mine) is not type(theirs) or mine.__dict__ != theirs.__dict__
                    or list(mine.__dict__) != list(theirs.__dict__)
                    or mine.model_fields_set != theirs.model_fields_set
                    or any(_kind(a) != _kind(b) for a, b in zip(mine.__dict__.values(), theirs.__dict__.values(), strict=True))):
                return None
        tree = repr(fast)  # the validator tree, with the Python functions it calls
        if any(f"{rule.__name__}()" in tree for rule in (_rfc3339, _lower, feedback_rule)):
            return None
    except Exception:  # noqa: BLE001 - any surprise means: validate exactly, as before
        return None
    return fast
