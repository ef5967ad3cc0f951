"""``cxpulse produce FILE``: events from JSONL or CSV, each validated before it is produced.

Readers turn a byte stream into numbered :class:`Record`\\ s (JSON bytes, or the reason
the line cannot be one); :func:`import_records` validates each with ``parse_event`` and
hands only valid ones to a sink. Exactly the bytes that were validated are produced.

CSV: the first row names the columns, which are event fields (docs/rules.md).
An empty cell means the field is absent; a cell holding exactly ``null`` is JSON null;
``wait_seconds``, ``talk_seconds`` and ``sentiment`` are numbers, ``score`` and
``schema_version`` integers, ``is_complaint`` is ``true``/``false`` (or ``1``/``0``);
every other field is text, taken as written.
"""

import csv
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import orjson

from cxpulse.schemas import (
    AccountEvent,
    CallEvent,
    ContactStartedEvent,
    FeedbackEvent,
    InvalidEvent,
    TicketEvent,
    parse_event,
)

from .errors import ProducerError
from .sink import DeliveryReport, EventSink

if TYPE_CHECKING:
    from .mapping import Mapper

__all__ = [
    "CSV_FIELDS",
    "CSV_REQUIRED",
    "ImportResult",
    "Record",
    "format_of",
    "import_records",
    "read_csv",
    "read_jsonl",
]

_BOM = b"\xef\xbb\xbf"
CSV_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(name for model in (CallEvent, TicketEvent, FeedbackEvent, AccountEvent, ContactStartedEvent)
                  for name in model.model_fields)
)
CSV_REQUIRED = ("event_id", "event_type", "customer_id", "occurred_at", "channel", "service_type")
_FLOATS = {"wait_seconds", "talk_seconds", "sentiment"}
_INTS = {"score", "schema_version"}
_BOOLS = {"is_complaint"}
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}
FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class Record:
    """One line (or CSV row) of the input: JSON bytes to validate, or why there are none."""

    line: int
    value: bytes | None
    error: str | None = None
    offset: int = 0  # input bytes consumed up to the end of this record (for progress)


def format_of(name: str, explicit: str | None) -> str:
    """``jsonl`` or ``csv``: ``explicit`` if given, else from the file name's extension."""
    if explicit is not None:
        return explicit
    stem = name.lower().removesuffix(".gz")
    for suffix, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv")):
        if stem.endswith(suffix):
            return kind
    if name == "-":
        return "jsonl"
    raise ProducerError(f"cannot tell the format of {name} from its name; pass --format jsonl or --format csv")


def read_jsonl(stream: IO[bytes]) -> Iterator[Record]:
    """One record per non-blank line; line numbers count every physical line from 1."""
    offset = 0
    for number, line in enumerate(stream, start=1):
        offset += len(line)
        if number == 1:
            line = line.removeprefix(_BOM)
        value = line.strip()
        if value:
            yield Record(number, value, offset=offset)


def read_csv(stream: IO[bytes]) -> Iterator[Record]:
    """Rows as JSON objects. Reads the header at once: a bad header raises :class:`ProducerError`."""
    source = _LineSource(stream)
    reader = csv.reader(source, strict=True)
    header = _header(reader)
    return _rows(reader, header, source)


class _LineSource:
    """Decoded lines for ``csv.reader`` that remember how many bytes they came from."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.offset = 0
        self._first = True

    def __iter__(self) -> "_LineSource":
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        self.offset += len(line)
        if self._first:
            line, self._first = line.removeprefix(_BOM), False
        # Undecodable bytes survive as surrogates and are refused per row, not per file.
        return line.decode("utf-8", errors="surrogateescape")


def _header(reader: Any) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ProducerError("the CSV file is empty: its first line must name the columns") from None
    except csv.Error as exc:
        raise ProducerError(f"CSV header: {exc}") from None
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in CSV_FIELDS]
    if unknown:
        raise ProducerError(f"CSV header: unknown column {unknown[0]!r} (columns are event fields: {', '.join(CSV_FIELDS)})")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ProducerError(f"CSV header: column {repeated[0]!r} appears twice")
    missing = [name for name in CSV_REQUIRED if name not in names]
    if missing:
        raise ProducerError(f"CSV header: missing column(s) {', '.join(missing)}")
    return names


def _rows(reader: Any, header: list[str], source: _LineSource) -> Iterator[Record]:
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a stray quote: report the row and read on from the next line
            yield Record(start, None, f"CSV: {exc}", source.offset)
            continue
        if cells:  # blank lines are skipped
            value, error = _row_json(header, cells)
            yield Record(start, value, error, source.offset)


def _row_json(header: list[str], cells: list[str]) -> tuple[bytes | None, str | None]:
    if len(cells) != len(header):
        return None, f"the row has {len(cells)} cells, the header has {len(header)}"
    if any(_undecodable(cell) for cell in cells):
        return None, "not valid UTF-8"
    row: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        try:
            row[name] = _typed(name, cell)
        except ValueError as exc:
            return None, f"{name}: {exc}"
    return orjson.dumps(row), None


def _undecodable(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _typed(name: str, cell: str) -> Any:
    if cell == "null":
        return None
    text = cell.strip()
    if name in _FLOATS:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{cell!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{cell!r} is not a finite number")
        return number
    if name in _INTS:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{cell!r} is not an integer") from None
    if name in _BOOLS:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{cell!r} is not true or false")
    return cell


@dataclass
class ImportResult:
    """What an import did: records read, produced (events handed to the sink), rejected, skipped."""

    read: int = 0
    produced: int = 0
    rejected: int = 0
    skipped: int = 0  # records a source mapping ignores (``--source``)
    stopped_at: int | None = None  # the bad line where ``--on-error stop`` ended the import
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def import_records(
    records: Iterable[Record],
    sink: EventSink,
    *,
    on_error: str = "continue",
    max_future_seconds: float = 86400.0,
    reject: Callable[[int, str], None] = lambda line, reason: None,
    progress: Callable[[Record], None] | None = None,
    clock: Callable[[], float] = time.time,
    mapper: "Mapper | None" = None,
) -> ImportResult:
    """Validate every record and send the valid ones; the caller closes the sink.

    ``reject(line, reason)`` is called for each refused record. With
    ``on_error="stop"`` the import ends at the first refused record, and nothing after
    it is sent. With a ``mapper`` (``--source``) each record is another system's JSON,
    mapped to zero or more events that are checked like any other.
    """
    result = ImportResult()
    for record in records:
        result.read += 1
        events, reason = _judge(record, clock(), max_future_seconds, mapper)
        if progress is not None:
            progress(record)
        if reason is not None:
            result.rejected += 1
            reject(record.line, reason)
            if on_error == "stop":
                result.stopped_at = record.line
                break
            continue
        if not events:
            result.skipped += 1
        for key, value in events:
            sink.send(key, value)
            result.produced += 1
    return result


def _judge(record: Record, now: float, max_future_seconds: float,
           mapper: "Mapper | None") -> tuple[list[tuple[bytes, bytes]], str | None]:  # fmt: skip
    """The ``(key, value)`` records a line becomes, or why it becomes none."""
    if mapper is None:
        key, reason = _validate(record, now, max_future_seconds)
        return ([], reason) if reason is not None else ([(key, record.value or b"")], None)
    if record.error is not None:
        return [], record.error
    from .mapping import Failed, Skipped, judge_bytes

    outcome = judge_bytes(mapper, record.value, now, max_future_seconds)
    if isinstance(outcome, Failed):
        return [], outcome.reason
    if isinstance(outcome, Skipped):
        return [], None
    return [(accepted.key, accepted.value) for accepted in outcome.accepted], None


def _validate(record: Record, now: float, max_future_seconds: float) -> tuple[bytes, str | None]:
    if record.error is not None or record.value is None:
        return b"", record.error or "empty record"
    try:
        event = parse_event(record.value, now=now, max_future_seconds=max_future_seconds)
    except InvalidEvent as exc:
        return b"", exc.reason
    return event.customer_id.encode("utf-8"), None
