"""The bad-input corpus: one raw record per case, with the outcome the contract demands.

Files: ``cases.json`` (name -> file, valid, field, duplicate_of, note) and ``records/``
(the bytes exactly as a producer would send them). :func:`load_corpus` adds cases that
depend on the clock or are too big to keep as files (huge strings, deep nesting).

Outcome of a case, whatever the path (a Kafka record read by the worker, or an item
posted to the gateway): ``valid`` cases are processed once (``duplicate_of`` names an
earlier case with the same customer_id and event_id: counted once downstream);
invalid ones are refused with a reason naming ``field`` (``None``: the record as a
whole is not a JSON object, so the gateway answers 400 for it alone).
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

__all__ = ["CorpusCase", "load_corpus"]

ROOT = Path(__file__).parent


@dataclass(frozen=True)
class CorpusCase:
    """One record and what must become of it."""

    name: str
    raw: bytes
    valid: bool
    field: str | None = None  # the field a rejection names; None: not a JSON object at all
    duplicate_of: str | None = None
    note: str = ""

    @property
    def json_object(self) -> dict | None:
        """The record as a dict when it is one JSON object, else None."""
        try:
            value = orjson.loads(self.raw)  # strict JSON (no NaN), UTF-8 only, like the gateway
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def load_corpus(root: Path = ROOT, now: float | None = None) -> list[CorpusCase]:
    """Every case: the files, then the generated ones (times relative to ``now``)."""
    cases = [
        CorpusCase(name, (root / spec["file"]).read_bytes(), spec["valid"], spec["field"], spec["duplicate_of"],
                   spec.get("note", ""))  # fmt: skip
        for name, spec in json.loads((root / "cases.json").read_text("utf-8")).items()
    ]
    return cases + _generated(now if now is not None else time.time())


def _event(event_id: str, **fields: object) -> dict:
    return {
        "event_id": event_id, "event_type": "feedback", "customer_id": "C-100077", "channel": "app",
        "occurred_at": "2024-05-02T09:30:00Z", "service_type": "account", "survey": "nps", "score": 9, **fields,
    }  # fmt: skip


def _at(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat()


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _generated(now: float) -> list[CorpusCase]:
    nested: object = "x"
    for _ in range(100):
        nested = [nested]
    return [
        CorpusCase("future_within_limit", _dumps(_event("corpus-gen-1", occurred_at=_at(now + 3600))), True,
                   note="an hour ahead of the clock: within the default 1 day"),
        CorpusCase("future_beyond_limit", _dumps(_event("corpus-gen-2", occurred_at=_at(now + 3 * 86400))), False,
                   "occurred_at"),
        CorpusCase("comment_at_limit", _dumps(_event("corpus-gen-3", comment="y" * 2000)), True),
        CorpusCase("comment_huge", _dumps(_event("corpus-gen-4", comment="z" * 100_000)), False, "comment"),
        CorpusCase("event_id_huge", _dumps(_event("i" * 200_000)), False, "event_id"),
        CorpusCase("unknown_field_huge", _dumps(_event("corpus-gen-5", padding="p" * 300_000)), False, "padding"),
        CorpusCase("deep_nesting_in_field", _dumps(_event("corpus-gen-6", related_ticket_id=nested)), False,
                   "related_ticket_id"),
        CorpusCase("deep_nesting_arrays", b"[" * 5000 + b"]" * 5000, False, None),
        CorpusCase("deep_nesting_objects", b'{"a":' * 5000 + b"1" + b"}" * 5000, False, None),
    ]  # fmt: skip
