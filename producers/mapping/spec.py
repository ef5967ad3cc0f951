"""A source mapping as written in its TOML file (docs/sources.md, "Writing a mapping").

    name = "zendesk"                      # optional: the file's name without .toml
    description = "..."
    documentation = "https://..."         # the vendor's page the mapping follows
    root = "data.payload || @"            # optional: the part of each record the rules read (default: all of it)
    ignore = "type == 'ping'"             # optional: records for which this is true are skipped

    [maps.outcome]                        # value tables for `map = "outcome"`
    CUSTOMER_DISCONNECT = "resolved"

    [[events]]                            # one rule per kind of event; every rule whose `when` holds applies
    name = "call"
    when = "Channel == 'VOICE'"
    event_type = "call"
    [events.fields]                       # event field -> how to compute it
    event_id = "join(':', ['connect', ContactId])"                     # a JMESPath expression
    channel = { value = "phone" }                                     # a constant
    wait_seconds = { expr = "Queue.Duration", type = "number", default = 0 }
    customer_id = [{ expr = "Attributes.customer_id" },               # alternatives: the first that gives a value
                   { expr = "CustomerEndpoint.Address", hash = "phone" }]
"""

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxpulse.errors import ConfigError
from cxpulse.schemas import Event

__all__ = ["Alternative", "EventRule", "FieldSpec", "MappingFile", "load_mapping_file", "parse_mapping"]

Conversion = Literal["string", "integer", "number", "boolean", "timestamp", "epoch_seconds", "epoch_ms"]
HashKind = Literal["text", "email", "phone"]
Scalar = str | int | float | bool


def _event_types() -> tuple[str, ...]:
    """The contract's event types, read from the Event union (a new type needs no change here)."""
    union = get_args(Event)[0]
    return tuple(value for model in get_args(union) for value in get_args(model.model_fields["event_type"].annotation))


EVENT_TYPES = _event_types()


class Alternative(BaseModel):
    """One way to compute a field: ``expr`` or ``value``, then ``map``/``type``/``hash``, ``default`` for null."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expr: str | None = None
    value: Scalar | None = None
    when: str | None = None
    map: str | None = None
    type: Conversion | None = None
    hash: HashKind | None = None
    prefix: Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9._:-]*$")] = "h-"
    default: Scalar | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Alternative":
        if (self.expr is None) == (self.value is None):
            raise ValueError("give exactly one of expr (a JMESPath expression) or value (a constant)")
        if self.hash is not None and self.map is not None:
            raise ValueError("hash and map do not combine: a hashed value is an id, not a key of a table")
        return self


FieldSpec = str | Alternative | list[str | Alternative]


class EventRule(BaseModel):
    """One ``[[events]]`` rule: when it applies, which event type it makes, and its fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    when: str | None = None
    event_type: str
    fields: dict[str, FieldSpec]

    @field_validator("event_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"must be one of {', '.join(EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _has_identity(self) -> "EventRule":
        missing = [name for name in ("event_id", "customer_id", "occurred_at") if name not in self.fields]
        if missing:
            raise ValueError(f"fields must compute {', '.join(missing)}")
        if "event_type" in self.fields:
            raise ValueError("event_type is the rule's own setting, not a field")
        return self


class MappingFile(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    description: str = ""
    documentation: str = ""
    root: str | None = None
    ignore: str | None = None
    maps: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    events: Annotated[list[EventRule], Field(min_length=1)]

    @model_validator(mode="after")
    def _maps_exist(self) -> "MappingFile":
        for rule in self.events:
            for field, spec in rule.fields.items():
                for alternative in _alternatives(spec):
                    if alternative.map is not None and alternative.map not in self.maps:
                        raise ValueError(f"field {field} uses map {alternative.map!r}, which [maps] does not define")
        return self


def _alternatives(spec: FieldSpec) -> list[Alternative]:
    items = spec if isinstance(spec, list) else [spec]
    return [Alternative(expr=item) if isinstance(item, str) else item for item in items]


def parse_mapping(data: dict[str, Any], origin: str, default_name: str) -> MappingFile:
    """The mapping in ``data`` (a parsed TOML document); :class:`ConfigError` names the problem."""
    data = {"name": default_name, **data}
    try:
        return MappingFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        # A field spec is a union (text, table or list): its own rule's message beats "should be a string".
        first = next((e for e in errors if e["type"] == "value_error"), None) or \
            next((e for e in errors if "Alternative" in e["loc"]), errors[0])
        where = ".".join(str(part) for part in first["loc"] if not _is_branch(part)) or "the file"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"source mapping {origin}: {where}: {message}") from None


def _is_branch(part: Any) -> bool:
    # pydantic names union branches in locations ("str", "Alternative", "list[...]"): not the user's keys.
    return isinstance(part, str) and (part in ("str", "Alternative") or part.startswith(("list[", "function-")))


def load_mapping_file(path: Path) -> MappingFile:
    """Read and check one mapping file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read source mapping {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"source mapping {path} is not valid TOML: {exc}") from None
    return parse_mapping(data, str(path), path.stem)
