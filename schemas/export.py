"""JSON Schema files for every contract model, for producers written in other languages."""

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from .events import AccountEvent, CallEvent, ContactStartedEvent, EventAdapter, FeedbackEvent, TicketEvent
from .outcomes import Outcome
from .outputs import AgentBrief, AgentWarning, Alert, DeadLetter, ScoreSnapshot

__all__ = ["SCHEMA_DIR", "render_schemas", "stale_schemas", "write_schemas"]

SCHEMA_DIR = Path(__file__).parent / "json"
BASE_URI = "https://cxpulse.dev/schemas/"

_INPUTS: dict[str, TypeAdapter | type[BaseModel]] = {
    "event": EventAdapter,
    "call-event": CallEvent,
    "ticket-event": TicketEvent,
    "feedback-event": FeedbackEvent,
    "account-event": AccountEvent,
    "contact-started-event": ContactStartedEvent,
    "outcome": Outcome,
}
_OUTPUTS: dict[str, type[BaseModel]] = {
    "alert": Alert,
    "score-snapshot": ScoreSnapshot,
    "dead-letter": DeadLetter,
    "agent-warning": AgentWarning,
    "agent-brief": AgentBrief,
}


def _schema_of(model: TypeAdapter | type[BaseModel], mode: JsonSchemaMode) -> dict:
    if isinstance(model, TypeAdapter):
        return model.json_schema(mode=mode)
    return model.model_json_schema(mode=mode)


def render_schemas() -> dict[str, str]:
    """File name -> JSON text of every schema (inputs as validated, outputs as written)."""
    rendered = {}
    passes: tuple[tuple[JsonSchemaMode, Mapping[str, TypeAdapter | type[BaseModel]]], ...] = (
        ("validation", _INPUTS), ("serialization", _OUTPUTS))
    for mode, models in passes:
        for name, model in models.items():
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"{BASE_URI}{name}.schema.json",
                **_schema_of(model, mode),
            }
            rendered[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from the models."""
    stale = []
    for name, text in render_schemas().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
