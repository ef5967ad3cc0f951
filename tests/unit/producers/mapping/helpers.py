"""Building mappers from TOML text, and the vendor samples (tests/sources/samples)."""

import json
import tomllib
from pathlib import Path
from typing import Any

from cxpulse.producers.mapping import Mapper
from cxpulse.producers.mapping.spec import parse_mapping

SAMPLES = Path(__file__).resolve().parents[3] / "sources" / "samples"
KEY = "k" * 24
NOW = 1_900_000_000.0  # 2030: every sample is in the past


def mapper(text: str, key: str | None = KEY) -> Mapper:
    """A :class:`Mapper` of a mapping file's text."""
    return Mapper(parse_mapping(tomllib.loads(text), "test", "test"), key)


def sample(name: str) -> list[dict[str, Any]]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


CALL_RULE = """
[[events]]
name = "call"
event_type = "call"
[events.fields]
event_id = "id"
customer_id = "who"
occurred_at = { expr = "at", type = "timestamp" }
channel = { value = "phone" }
service_type = { value = "billing" }
direction = { value = "inbound" }
wait_seconds = { expr = "wait", type = "number", default = 0 }
talk_seconds = { value = 60 }
outcome = { value = "resolved" }
"""

RECORD = {"id": "r-1", "who": "C-1", "at": "2025-05-01T10:00:00Z", "wait": 12}
