"""The outcomes file: which customers left and when, for ``cxpulse backtest`` and ``calibrate``.

One row per customer who left: ``customer_id``, ``churned_at`` (RFC 3339 with offset),
optional ``reason`` (a short code, as on the account event) and ``action`` (``cancelled``
by default, ``not_renewed`` or ``downgraded``). JSONL (one object per line) or CSV (a
header row naming those columns) by the file's extension, ``.gz`` read compressed. The
same facts can arrive as account events on ``cx.events`` (docs/rules.md, "Events");
docs/backtest.md says how the two are joined.
"""

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxpulse.errors import CxpulseError

from .events import MAX_REASON_CHARS, describe_errors
from .types import CustomerId, Timestamp

__all__ = ["OUTCOME_FIELDS", "Outcome", "OutcomesError", "read_outcomes", "write_outcomes"]

OUTCOME_FIELDS = ("customer_id", "churned_at", "reason", "action")


class OutcomesError(CxpulseError):
    """An outcomes file that cannot be read; the message names the file and line."""


class Outcome(BaseModel):
    """One customer who left."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: CustomerId
    churned_at: Timestamp
    reason: Annotated[str, Field(strict=True, min_length=1, max_length=MAX_REASON_CHARS,
                                 pattern=r"^[A-Za-z0-9._:/ -]+$")] | None = None
    action: Literal["cancelled", "not_renewed", "downgraded"] = "cancelled"


def _open_text(path: Path) -> io.TextIOBase:
    raw = path.open("rb")
    stream = gzip.GzipFile(fileobj=raw) if path.name.lower().endswith(".gz") else raw
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _is_csv(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith(".csv")


def _rows(path: Path, stream: io.TextIOBase) -> Iterator[tuple[int, object]]:
    if not _is_csv(path):
        for number, line in enumerate(stream, start=1):
            if line.strip():
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise OutcomesError(f"{path.name} line {number}: not valid JSON: {exc.msg}") from None
        return
    reader = csv.DictReader(stream)
    unknown = [name for name in reader.fieldnames or () if name not in OUTCOME_FIELDS]
    if unknown or "customer_id" not in (reader.fieldnames or ()) or "churned_at" not in (reader.fieldnames or ()):
        raise OutcomesError(f"{path.name}: the CSV header must name customer_id, churned_at and optionally "
                            f"reason, action (found {', '.join(reader.fieldnames or ()) or 'nothing'})")
    for row in reader:
        yield reader.line_num, {key: value for key, value in row.items() if value not in ("", None)}


def read_outcomes(path: Path) -> list[Outcome]:
    """Every row of an outcomes file; raises :class:`OutcomesError` at the first bad one."""
    if not path.is_file():
        raise OutcomesError(f"outcomes file {path} does not exist")
    outcomes = []
    try:
        with _open_text(path) as stream:
            for number, row in _rows(path, stream):
                try:
                    outcomes.append(Outcome.model_validate_json(orjson.dumps(row)))
                except ValidationError as exc:
                    raise OutcomesError(f"{path.name} line {number}: {describe_errors(exc)}") from None
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise OutcomesError(f"cannot read outcomes file {path}: {exc}") from None
    return outcomes


def write_outcomes(path: Path, outcomes: Iterable[Outcome]) -> int:
    """Write an outcomes file (CSV when the name ends in ``.csv``, else JSONL); returns the row count."""
    rows = [outcome.model_dump(mode="json", exclude_none=True) for outcome in outcomes]
    with path.open("w", encoding="utf-8", newline="") as stream:
        if _is_csv(path):
            writer = csv.DictWriter(stream, fieldnames=OUTCOME_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            stream.writelines(orjson.dumps(row).decode() + "\n" for row in rows)
    return len(rows)
