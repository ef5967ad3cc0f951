"""The hot-path event decoder: msgspec structs derived from the pydantic models, the models' own
Python rules, the exact validator behind it.

:func:`~cxpulse.schemas.parse_event` runs on every record the worker and a replay read. The
pydantic models are the contract (and the JSON Schema source), but validating JSON into them
with pydantic-core costs several times what decoding it does. :func:`fast_decoder` reads the
models' own core schema and derives, for each event type it fully understands:

- a ``msgspec.Struct`` (a tagged union on the models' discriminator) that decodes the JSON and
  checks what msgspec checks exactly as pydantic-core does: field names (unknown ones refused
  when the model forbids extras), JSON types (strict: no coercion), string lengths in code
  points, integer and float bounds, literals, nulls;
- a generated Python function that finishes the job and builds the **same model instance**
  ``parse_event`` would return (same class, field values and types, field order, fields set):
  string patterns (translated only from a small syntax both regex engines read alike), the
  models' ``AfterValidator`` functions and ``model_validator(mode="after")`` functions called
  as they are, and ``BeforeValidator`` functions called as they are on a string (or, where a
  known function has a faster equivalent whose code fingerprint still matches, that
  equivalent: see :data:`SUBSTITUTES`), then the inner type's check.

It accepts a subset of what the exact validator accepts, with identical results; whatever it
refuses (or does not understand) the caller sends to the exact validator, which decides and
gives the reason. So adding an event type, a field or a rule means editing the pydantic
models only: a schema node this module does not know makes that event type's records go to
the exact validator (correct, slower), and ``tests/unit/schemas/test_fastdecode.py`` fails
until the node is supported here, naming it (:attr:`FastDecoder.unsupported`). A self-check at
import compares the decoder with the exact validator on sample records and disables it on any
difference.
"""

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Annotated, Any, Literal, Union

import msgspec
from pydantic import BaseModel

__all__ = ["SUBSTITUTES", "FastDecoder", "Substitute", "Unsupported", "equivalent", "fast_decoder", "fields_of", "fingerprint"]

_MAX_FLOAT = 1.7976931348623157e308  # msgspec bounds also keep an infinite float out


class Unsupported(Exception):
    """A schema node this module cannot decode exactly; its event type goes to the exact validator."""


def fingerprint(function: Callable[..., Any], *extra: str) -> str:
    """A digest of a function's source and of ``extra`` strings (e.g. a module-level regex the
    function uses): it changes when the function does (the same on every Python version)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return "no source"
    return sha256("\x00".join([source, *extra]).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Substitute:
    """A faster equivalent of a ``BeforeValidator`` function, on the raw JSON type ``raw``.

    ``fast`` must return what ``original`` returns for every value it accepts, and raise for
    the rest (the exact validator then decides). ``digest`` is the original's
    :func:`fingerprint` (with ``extra``) when the equivalence was checked; if the original
    changes, the substitute is not used and the original itself is called.
    """

    original: Callable[[Any], Any]
    fast: Callable[[Any], Any]
    raw: type
    digest: str
    extra: Callable[[], tuple[str, ...]] = lambda: ()
    inner_checked: bool = False  # its results always pass the inner schema's check (no need to run it)

    def applies(self) -> bool:
        return fingerprint(self.original, *self.extra()) == self.digest


def _timestamp_substitute() -> Substitute:
    from .types import _RFC3339, _rfc3339

    fromisoformat = datetime.fromisoformat

    def fast_rfc3339(value: str) -> datetime:
        """The exact rule (match ``_RFC3339``, then ``datetime.fromisoformat(value.upper())``) on
        its common forms: ASCII, ``YYYY-MM-DDTHH:MM:SS`` (``T`` or ``t``), an optional fraction,
        then ``Z``, ``z`` or ``+HH:MM``/``-HH:MM``. Here the separators are checked by position and
        ``fromisoformat`` checks every digit position (ASCII digits only), so what passes matches
        ``_RFC3339`` and gets the exact rule's very value (upper-cased only when it has to be)."""
        n = len(value)
        if n < 20 or not value.isascii():
            raise ValueError("not the common form")
        last = value[n - 1]
        if last == "Z" or last == "z":
            body = n - 1
        elif value[n - 6] in "+-" and value[n - 3] == ":":
            body = n - 6
        else:
            raise ValueError("not the common form")
        sep = value[10]
        if (value[4] != "-" or value[7] != "-" or (sep != "T" and sep != "t") or value[13] != ":" or value[16] != ":"
                or (body != 19 and (body < 21 or value[19] != "." or not value[20:body].isdigit()))):
            raise ValueError("not the common form")
        if sep == "t" or last == "z":
            value = value.upper()
        return fromisoformat(value)  # with an offset: always an aware datetime

    return Substitute(_rfc3339, fast_rfc3339, str, "7d787bdea2f42416", lambda: (_RFC3339.pattern,), inner_checked=True)


SUBSTITUTES: list[Substitute] = []  # filled on first use (schemas.types imports nothing from here)


# --- the plan: what msgspec decodes, what Python does after it -------------------------------

@dataclass
class _Field:
    """One model field: its msgspec type, its default, and the Python that finishes it."""

    name: str
    annotation: Any
    has_default: bool = False
    default: Any = None
    steps: list[str] = field(default_factory=list)  # statements on `v` (may raise)


class _Env:
    """Names the generated code refers to (functions, patterns, classes)."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}

    def add(self, prefix: str, value: Any) -> str:
        for name, known in self.names.items():
            if known is value:
                return name
        name = f"_{prefix}{len(self.names)}"
        self.names[name] = value
        return name


def _function_of(node: Mapping[str, Any]) -> Callable[..., Any]:
    spec = node.get("function")
    if not isinstance(spec, Mapping) or spec.get("type") != "no-info":
        raise Unsupported(f"{node.get('type')} with a validator that takes ValidationInfo")
    return spec["function"]


def _only(node: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(node) - allowed - {"type", "metadata", "ref", "serialization"}
    if extra:
        raise Unsupported(f"{node.get('type')} schema with {', '.join(sorted(extra))}")


_SAFE_PATTERN = re.compile(r"(?:[A-Za-z0-9 _:./\-^$\[\]+*?{},|()]|\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4})+")
_ESCAPE = re.compile(r"\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|.", re.S)


def _pattern(pattern: str) -> re.Pattern[str]:
    """pydantic-core's pattern (Rust regex, search semantics) as a Python regex, for the syntax
    both read alike: literals, classes, groups, alternatives and quantifiers, the code-point
    escapes ``\\xHH`` and ``\\uHHHH`` (the same character in both), no other escapes, no ``.``
    outside a class. Outside a class ``$`` is the end of text in Rust, ``\\Z`` in Python."""
    # Rust reads "[a[b]]" and "[a--b]" as set operations and "[]" differently: refused here.
    if not _SAFE_PATTERN.fullmatch(pattern) or any(s in pattern for s in ("(?", "[]", "[^]", "--")):
        raise Unsupported(f"pattern {pattern!r}")
    out, in_class = [], False
    for token in _ESCAPE.findall(pattern):
        if token == "[":
            if in_class:
                raise Unsupported(f"pattern {pattern!r}")
            in_class = True
        elif token == "]" and in_class:
            in_class = False
        elif token == "$" and not in_class:
            token = r"\Z"
        elif token == "." and not in_class:
            raise Unsupported(f"pattern {pattern!r}")
        out.append(token)
    if in_class:
        raise Unsupported(f"pattern {pattern!r}")
    return re.compile("".join(out))


def _meta(**bounds: Any) -> Any:
    given = {k: v for k, v in bounds.items() if v is not None}
    return msgspec.Meta(**given) if given else None


def _annotated(base: Any, meta: Any) -> Any:
    return base if meta is None else Annotated[base, meta]


def _value(node: Mapping[str, Any], env: _Env, steps: list[str]) -> Any:
    """The msgspec type of a value schema; appends the Python steps it needs to ``steps``."""
    kind = node.get("type")
    if kind == "str":
        _only(node, {"strict", "min_length", "max_length", "pattern"})
        if node.get("pattern") is not None:
            steps.append(f"if {env.add('pattern', _pattern(node['pattern']).search)}(v) is None: raise ValueError")
        return _annotated(str, _meta(min_length=node.get("min_length"), max_length=node.get("max_length")))
    if kind == "int":
        _only(node, {"strict", "ge", "le", "gt", "lt", "multiple_of"})
        return _annotated(int, _meta(ge=node.get("ge"), le=node.get("le"), gt=node.get("gt"), lt=node.get("lt"),
                                     multiple_of=node.get("multiple_of")))
    if kind == "float":
        _only(node, {"strict", "ge", "le", "gt", "lt", "allow_inf_nan"})
        ge, le = node.get("ge"), node.get("le")
        return Annotated[float, msgspec.Meta(
            ge=-_MAX_FLOAT if ge is None else max(ge, -_MAX_FLOAT), le=_MAX_FLOAT if le is None else min(le, _MAX_FLOAT),
            **{k: node[k] for k in ("gt", "lt") if node.get(k) is not None})]
    if kind == "bool":
        _only(node, {"strict"})
        return bool
    if kind == "literal":
        _only(node, {"expected"})
        expected = node["expected"]
        if not expected or not all(type(e) is str for e in expected):
            raise Unsupported("literal of other than strings")
        return Literal[tuple(expected)]
    if kind == "nullable":
        _only(node, {"schema", "strict"})
        inner_steps: list[str] = []
        inner = _value(node["schema"], env, inner_steps)
        if inner_steps:
            steps.append("if v is not None:")
            steps += ["    " + s for s in inner_steps]
        return Union[inner, None]
    if kind == "function-after":
        _only(node, {"function", "schema"})
        inner = _value(node["schema"], env, steps)
        steps.append(f"v = {env.add('after', _function_of(node))}(v)")
        return inner
    if kind == "function-before":
        _only(node, {"function", "schema", "json_schema_input_schema"})
        return _before(node, env, steps)
    raise Unsupported(f"{kind} schema")


def _before(node: Mapping[str, Any], env: _Env, steps: list[str]) -> Any:
    """A ``BeforeValidator`` on a datetime: the function (or its substitute) on a JSON string,
    then the datetime check pydantic-core applies to a datetime it is given."""
    function = _function_of(node)
    inner = node["schema"]
    if inner.get("type") != "datetime":
        raise Unsupported(f"a BeforeValidator before a {inner.get('type')} schema")
    _only(inner, {"strict", "tz_constraint", "microseconds_precision", "ge", "le", "gt", "lt"})
    substitute = next((s for s in _substitutes() if s.original is function and s.applies()), None)
    call = function if substitute is None else substitute.fast
    steps.append(f"v = {env.add('before', call)}(v)")
    if substitute is not None and substitute.inner_checked:
        _datetime_bounds(inner, env, steps)
        return substitute.raw
    steps.append(f"if type(v) is not {env.add('cls', datetime)}: raise ValueError")
    tz = inner.get("tz_constraint")
    if tz == "aware":
        steps.append("if v.utcoffset() is None: raise ValueError")
    elif tz == "naive":
        steps.append("if v.utcoffset() is not None: raise ValueError")
    elif tz is not None:
        raise Unsupported(f"datetime tz_constraint {tz!r}")
    _datetime_bounds(inner, env, steps)
    return str if substitute is None else substitute.raw


_BOUNDS = {"ge": "<", "le": ">", "gt": "<=", "lt": ">="}  # bound -> the comparison that refuses


def _datetime_bounds(inner: Mapping[str, Any], env: _Env, steps: list[str]) -> None:
    """pydantic-core's ``ge``/``le``/``gt``/``lt`` on an aware datetime: compared as instants
    (Python compares aware datetimes in UTC too); a naive bound is not understood."""
    for bound, refuse in _BOUNDS.items():
        if bound not in inner:
            continue
        limit = inner[bound]
        if not isinstance(limit, datetime) or limit.utcoffset() is None:
            raise Unsupported(f"datetime {bound} bound {limit!r}")
        steps.append(f"if v {refuse} {env.add('bound', limit)}: raise ValueError")


def _substitutes() -> list[Substitute]:
    if not SUBSTITUTES:
        SUBSTITUTES.append(_timestamp_substitute())
    return SUBSTITUTES


_IMMUTABLE = (type(None), bool, int, float, str)


def _field(name: str, node: Mapping[str, Any], env: _Env) -> _Field:
    if node.get("type") != "model-field":
        raise Unsupported(f"field {name}: {node.get('type')}")
    _only(node, {"schema", "serialization_exclude", "serialization_alias", "frozen"})
    schema = node["schema"]
    plan = _Field(name, None)
    if schema.get("type") == "default":
        _only(schema, {"schema", "default"})
        if "default" not in schema or type(schema["default"]) not in _IMMUTABLE:
            raise Unsupported(f"field {name}: a default factory or a mutable default")
        plan.has_default, plan.default = True, schema["default"]
        schema = schema["schema"]
    try:
        plan.annotation = _value(schema, env, plan.steps)
    except Unsupported as exc:
        raise Unsupported(f"field {name}: {exc}") from None
    return plan


@dataclass
class _Model:
    tag: str
    cls: type[BaseModel]
    struct: type
    finish: Callable[[Any], Any]


_CONFIG_KEYS = {"title", "extra_fields_behavior"}


def _model(tag: str, discriminator: str, node: Mapping[str, Any]) -> _Model:
    env = _Env()
    after: list[Callable[..., Any]] = []
    while node.get("type") == "function-after":  # model_validator(mode="after"), innermost first
        _only(node, {"function", "schema"})
        after.insert(0, _function_of(node))
        node = node["schema"]
    if node.get("type") != "model":
        raise Unsupported(f"a {node.get('type')} schema around the model")
    _only(node, {"cls", "schema", "config", "custom_init", "root_model"})
    if node.get("custom_init") or node.get("root_model"):
        raise Unsupported("a custom __init__ or a root model")
    config = node.get("config") or {}
    if set(config) - _CONFIG_KEYS or config.get("extra_fields_behavior", "ignore") not in ("ignore", "forbid"):
        raise Unsupported(f"model config {sorted(set(config) - {'title'})}")
    inner = node["schema"]
    if inner.get("type") != "model-fields":
        raise Unsupported(f"{inner.get('type')} model schema")
    _only(inner, {"fields", "model_name", "computed_fields"})
    cls = node["cls"]
    fields = [_field(name, spec, env) for name, spec in inner["fields"].items()]
    tag_field = next((f for f in fields if f.name == discriminator), None)
    if tag_field is None or tag_field.has_default or tag_field.steps or tag_field.annotation != Literal[(tag,)]:
        raise Unsupported(f"the discriminator {discriminator!r} is not a required literal {tag!r}")
    # The tag is not a struct field in msgspec: a class attribute gives it to readers.
    # A field with a default and Python steps is UNSET when absent: an explicit value is
    # validated, the default is not (as in pydantic), whatever the value.
    specs = [(f.name, f.annotation) if not f.has_default else
             (f.name, Union[f.annotation, msgspec.UnsetType], msgspec.UNSET) if f.steps else (f.name, f.annotation, f.default)
             for f in fields if f is not tag_field]
    struct = msgspec.defstruct(
        f"Fast{cls.__name__}", specs, tag_field=discriminator, tag=tag, kw_only=True, gc=False,
        forbid_unknown_fields=config.get("extra_fields_behavior") == "forbid",
        namespace={discriminator: tag, "__doc__": f"{cls.__name__} as the fast decoder gives it (same fields and values)."},
        module=__name__,
    )
    _MODEL_OF[struct] = cls
    return _Model(tag, cls, struct, _compile(cls, fields, after, env))


def _compile(cls: type[BaseModel], fields: list[_Field], after: list[Callable[..., Any]],
             env: _Env) -> Callable[[Any], Any]:
    """``finish(struct)``: each field's Python steps (written out, no loop per event), then the
    model validators; the struct is finished in place and returned."""
    names: dict[str, Any] = {"UNSET": msgspec.UNSET}
    lines = ["def finish(s):"]
    for i, f in enumerate(fields):
        if not f.steps:
            continue
        lines.append(f"    v = s.{f.name}")
        indent = "    "
        if f.has_default:
            names[f"_d{i}"] = f.default
            lines += ["    if v is UNSET:", f"        s.{f.name} = _d{i}", "    else:"]
            indent = "        "
        lines += [indent + step for step in f.steps]
        lines.append(f"{indent}s.{f.name} = v")
    for j, function in enumerate(after):
        names[f"_model_after{j}"] = function
        lines.append(f"    s = _model_after{j}(s)")
    lines.append("    return s")
    names.update(env.names)
    source = "\n".join(lines)
    exec(compile(source, f"<fastdecode {cls.__name__}>", "exec"), names)  # noqa: S102 - our own code
    finish = names["finish"]
    finish.__source__ = source  # for the curious
    return finish


# --- the decoder ------------------------------------------------------------------------------

class FastDecoder:
    """``decode(raw)``: the event as a struct with the model's fields and values (the class
    attribute ``event_type`` included), or ``None`` when the exact validator must decide."""

    def __init__(self, models: list[_Model], discriminator: str, unsupported: dict[str, str]) -> None:
        self.unsupported = unsupported  # event type -> why its records go to the exact validator
        self.types = frozenset(m.tag for m in models)
        # A lone tagged struct would also take a record without its tag: always a union.
        never = msgspec.defstruct("Never", [], tag_field=discriminator, tag="\x00")  # no record has this tag
        structs = (*(m.struct for m in models), never)
        self._decode = msgspec.json.Decoder(Union[structs]).decode
        self._finish = {m.struct: m.finish for m in models}
        self.structs = {m.tag: m.struct for m in models}

    def decode(self, raw: bytes | str) -> Any:
        try:
            struct = self._decode(raw)
            return self._finish[type(struct)](struct)
        except Exception:  # noqa: BLE001 - refused, or not understood: the exact validator decides
            return None


def _kind(value: Any) -> tuple[type, ...]:
    return (type(value), type(value.tzinfo)) if isinstance(value, datetime) else (type(value),)


def fields_of(event: Any) -> tuple[tuple[str, Any, tuple[type, ...]], ...]:
    """``(name, value, type)`` of every field of a model instance, or of the same fields of its
    fast struct: what "the same event" means here (the datetime's tzinfo type included)."""
    model: Any = type(event) if isinstance(event, BaseModel) else _MODEL_OF[type(event)]
    return tuple((name, getattr(event, name), _kind(getattr(event, name))) for name in model.model_fields)


def equivalent(fast: Any, event: BaseModel) -> bool:
    """Whether a fast struct reads exactly like the model instance (same fields, values, types)."""
    mine = {n: (v, k) for n, v, k in fields_of(fast)}
    theirs = {n: (v, k) for n, v, k in fields_of(event)}
    return _MODEL_OF.get(type(fast)) is type(event) and mine == theirs


_MODEL_OF: dict[type, type] = {}  # fast struct -> its model class


def fast_decoder(exact: Any, samples: Iterable[bytes]) -> FastDecoder | None:
    """The fast decoder for the event union ``exact`` (a ``TypeAdapter`` of a tagged union of
    models), or ``None`` when it cannot be built or disagrees with ``exact`` on a sample."""
    try:
        schema = exact.core_schema
        if schema.get("type") != "tagged-union" or not isinstance(schema.get("discriminator"), str):
            return None
        models, unsupported = [], {}
        for tag, node in schema["choices"].items():
            try:
                models.append(_model(tag, schema["discriminator"], node))
            except Unsupported as exc:
                unsupported[tag] = str(exc)
        if not models:
            return None
        decoder = FastDecoder(models, schema["discriminator"], unsupported)
        for raw in samples:
            mine = decoder.decode(raw)
            if mine is None or not equivalent(mine, exact.validate_json(raw)):
                return None
    except Exception:  # noqa: BLE001 - any surprise means: validate exactly, as before
        return None
    return decoder
