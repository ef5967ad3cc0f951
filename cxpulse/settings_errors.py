"""One-line explanations of bad settings that name where the bad value came from.

A value from the environment is reported with its variable, its value and what the setting
expects (``CXPULSE_TOPICS__PARTITIONS='abc': topics.partitions expects an integer >= 1``),
so a user does not hunt through config files for a mistake made in their shell. An
environment variable that looks like a setting but names none is an error too: a typo
(``CXPULSE_TOPIC__EVENTS``) would otherwise be ignored in silence.
"""

import os
import types
import typing
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

__all__ = ["ENV_PREFIX", "KAFKA_ADDRESS_ENV", "env_source", "expects", "explain", "field_at", "unknown_variables"]

ENV_PREFIX = "CXPULSE_"
KAFKA_ADDRESS_ENV = "KAFKA_BOOTSTRAP_SERVERS"
_NESTED = "__"


def env_source(loc: Sequence[str | int], environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The environment variable (name, value) that set the setting at ``loc``, if one did.

    Variables are matched without regard to case, as pydantic-settings reads them; the most
    specific one wins (``CXPULSE_ENGINE__WEIGHTS__COMPLAINT`` before ``CXPULSE_ENGINE``).
    """
    environ = os.environ if environ is None else environ
    upper = {name.upper(): (name, value) for name, value in environ.items()}
    parts = [str(part) for part in loc if isinstance(part, str)]
    if parts[:2] == ["kafka", "bootstrap_servers"] and KAFKA_ADDRESS_ENV in upper:
        return upper[KAFKA_ADDRESS_ENV]
    for length in range(len(parts), 0, -1):
        name = ENV_PREFIX + _NESTED.join(parts[:length]).upper()
        if name in upper:
            return upper[name]
    return None


def unknown_variables(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[str]:
    """``CXPULSE_<SECTION>__<FIELD>...`` variables whose path names no setting of ``model``."""
    environ = os.environ if environ is None else environ
    unknown = []
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX) or _NESTED not in name:
            continue
        path = name[len(ENV_PREFIX):].lower().split(_NESTED)
        if not _known_path(model, path):
            unknown.append(name)
    return sorted(unknown)


def _known_path(model: type[BaseModel], path: list[str]) -> bool:
    fields = model.model_fields
    if not path or path[0] not in fields:
        return False
    nested = _model_of(fields[path[0]].annotation)
    if len(path) == 1:
        return True
    return nested is not None and _known_path(nested, path[1:])


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def field_at(model: type[BaseModel], loc: Sequence[str | int]) -> FieldInfo | None:
    """The field a validation error's location points at (list indexes skipped)."""
    field = None
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _model_of(field.annotation) or _list_item_model(field.annotation)
    return field


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        return _model_of(typing.get_args(annotation)[0])
    return None


def expects(field: FieldInfo) -> str:
    """What a field takes, in words: ``an integer from 1 to 65535``, ``one of 'SSL', 'PLAINTEXT'``, ..."""
    limits: dict[str, Any] = {}
    for item in field.metadata:
        for attr in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            if getattr(item, attr, None) is not None:
                limits[attr] = getattr(item, attr)
    words = [_kind(field.annotation)]
    low = ("ge", limits["ge"]) if "ge" in limits else ("gt", limits["gt"]) if "gt" in limits else None
    high = ("le", limits["le"]) if "le" in limits else ("lt", limits["lt"]) if "lt" in limits else None
    if low and high and low[0] == "ge" and high[0] == "le":
        words.append(f"from {_number(low[1])} to {_number(high[1])}")
    else:
        symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        words += [f"{symbols[bound[0]]} {_number(bound[1])}" for bound in (low, high) if bound]
    if "min_length" in limits:
        words.append(f"of at least {limits['min_length']} character{'s' if limits['min_length'] != 1 else ''}")
    if "pattern" in limits:
        words.append(f"matching {limits['pattern']}")
    return " ".join(words)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if origin in (typing.Union, types.UnionType):
        optional = len(args) < len(typing.get_args(annotation))
        inner = " or ".join(_kind(arg) for arg in args)
        return f"{inner} (or nothing)" if optional else inner
    if origin is Literal:
        return "one of " + ", ".join(repr(value) for value in typing.get_args(annotation))
    if origin is list:
        return f"a JSON list of {_plural(_kind(args[0]))}" if args else "a JSON list"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if annotation is SecretStr or annotation is str:
        return "a string"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table (a JSON object)"
    name = getattr(annotation, "__name__", str(annotation))
    return {"Path": "a path"}.get(name, f"a {name}")


def _plural(kind: str) -> str:
    for singular, plural in (("an integer", "integers"), ("a number", "numbers"), ("a string", "strings"),
                             ("a table (a JSON object)", "tables (JSON objects)")):
        if kind == singular:
            return plural
    return kind


def explain(model: type[BaseModel], loc: Sequence[str | int], message: str,
            environ: Mapping[str, str] | None = None) -> str | None:
    """The one-line error for a bad value at ``loc`` when an environment variable set it, else None."""
    source = env_source(loc, environ)
    if source is None:
        return None
    name, value = source
    where = ".".join(str(part) for part in loc)
    shown = "***" if "password" in name.lower() or "token" in name.lower() else value
    if message == "Extra inputs are not permitted":
        parent, _, child = where.rpartition(".")
        return f"{name}={shown!r}: {parent or 'the settings'} has no setting {child!r} (see docs/configuration.md)"
    field = field_at(model, loc)
    wanted = f" expects {expects(field)}" if field is not None else ""
    return f"{name}={shown!r}: {where}{wanted} ({message.removeprefix('Value error, ')})"
