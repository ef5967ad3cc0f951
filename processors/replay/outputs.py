"""``--out DIR``: the replay's alerts, final scores, invalid records, diff and summary as files.

    alerts.jsonl    every alert the range caused (``emitted_at`` null: never emitted)
    scores.jsonl    every customer's final score snapshot, by customer id
    invalid.jsonl   invalid records as dead letters (reason, partition, offset, raw value)
    diff.jsonl      with --diff: one line per added, removed or changed alert
    summary.json    the counts the report shows
"""

from pathlib import Path
from typing import Any, IO

import orjson

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.schemas import Alert, ScoreSnapshot, dead_letter

from .diff import AlertChange, AlertDiff
from .errors import ReplayError

__all__ = ["OutputDir", "diff_lines"]


class OutputDir:
    """Writes the files of one replay; invalid records stream out as they are found."""

    def __init__(self, path: Path, source_topic: str) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
            self._invalid: IO[bytes] | None = open(path / "invalid.jsonl", "wb")
        except OSError as exc:
            raise ReplayError(f"cannot write to {path}: {exc.strerror or exc}") from None
        self.path = path
        self.source_topic = source_topic
        self.written: dict[str, int] = {"invalid.jsonl": 0}

    def invalid(self, record: SourceRecord, reason: str) -> None:
        letter = dead_letter(reason, record.value_bytes() or b"", source_topic=self.source_topic,
                             partition=record.partition, offset=record.offset, key=record.key)
        assert self._invalid is not None
        self._invalid.write(letter.model_dump_json(exclude_none=True).encode("utf-8") + b"\n")
        self.written["invalid.jsonl"] += 1

    def finish(self, alerts: list[Alert], snapshots: list[ScoreSnapshot], summary: dict[str, Any],
               diff: AlertDiff | None) -> dict[str, int]:
        """Write the rest and close; returns lines written per file."""
        if self._invalid is not None:
            self._invalid.close()
            self._invalid = None
        self._lines("alerts.jsonl", (a.model_dump_json().encode("utf-8") for a in alerts))
        self._lines("scores.jsonl", (s.model_dump_json().encode("utf-8") for s in snapshots))
        if diff is not None:
            self._lines("diff.jsonl", diff_lines(diff))
        (self.path / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
        return dict(self.written)

    def close(self) -> None:
        if self._invalid is not None:
            self._invalid.close()
            self._invalid = None

    def _lines(self, name: str, lines) -> None:
        count = 0
        with open(self.path / name, "wb") as out:
            for line in lines:
                out.write(line + b"\n")
                count += 1
        self.written[name] = count


def _alert(alert: Alert) -> Any:
    return alert.model_dump(mode="json")


def _change(change: AlertChange) -> bytes:
    live = change.live
    fields = {c.field: {"live": _plain(c.live), "replay": _plain(c.replay)} for c in change.changes}
    return orjson.dumps({"change": "changed", "matched_by": change.matched_by, "rule": live.rule,
                         "customer_id": live.customer_id, "service_type": live.service_type,
                         "fields": fields, "live": _alert(live), "replay": _alert(change.replay)})


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def diff_lines(diff: AlertDiff):
    """JSON lines: ``{"change": "added"|"removed", "alert": ...}`` or a ``changed`` pair with its fields."""
    for alert in diff.removed:
        yield orjson.dumps({"change": "removed", "alert": _alert(alert)})
    for alert in diff.added:
        yield orjson.dumps({"change": "added", "alert": _alert(alert)})
    for change in diff.changed:
        yield _change(change)
