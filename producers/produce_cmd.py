"""The shell of ``cxpulse produce FILE``: open, validate line by line, produce, summarise."""

import gzip
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from cxpulse.console import console, err_console
from cxpulse.schemas.safetext import one_line
from cxpulse.settings import Settings

from .display import delivery_line, progress_bar, summary_table
from .errors import ImportAborted, ProducerError
from .fileimport import ImportResult, Record, format_of, import_records, read_csv, read_jsonl
from .sink import DeliveryReport, EventSink, KafkaSink

if TYPE_CHECKING:
    from .mapping import Mapper

__all__ = ["CheckOnlySink", "ProduceRequest", "connect_kafka", "run_produce"]


@dataclass(frozen=True)
class ProduceRequest:
    """The options of ``cxpulse produce``."""

    file: str
    format: str | None = None
    on_error: str = "continue"
    check: bool = False
    topic: str | None = None
    source: str | None = None  # a source mapping (docs/sources.md): lines are that system's JSON


class CheckOnlySink:
    """The sink of ``--check``: counts what would have been produced."""

    def __init__(self) -> None:
        self.report = DeliveryReport()

    def send(self, key: bytes, value: bytes) -> None:
        self.report.sent += 1

    def close(self) -> DeliveryReport:
        return self.report


def run_produce(settings: Settings, request: ProduceRequest) -> None:
    """Import the file; raise :class:`ImportAborted` when lines were rejected or events lost."""
    topic = request.topic or settings.topics.events
    mapper = _mapper(settings, request)
    with _open(request.file) as (stream, size):
        kind = format_of(request.file, request.format)
        if mapper is not None and kind == "csv":
            raise ProducerError("--source reads JSONL: one JSON record of the source system per line")
        records = read_csv(stream) if kind == "csv" else read_jsonl(stream)  # a bad CSV header fails here
        sink: EventSink = CheckOnlySink() if request.check else connect_kafka(settings, topic)
        try:
            result = _import(records, sink, settings, request, size, mapper)
        finally:
            result_delivery = sink.close()
    result.delivery = result_delivery
    console.print(summary_table(_summary(result, request, topic), f"cxpulse produce {request.file}"))
    _verdict(result, request)


def _mapper(settings: Settings, request: ProduceRequest) -> "Mapper | None":
    if request.source is None:
        return None
    from .mapping import load_source

    return load_source(request.source, settings)


def connect_kafka(settings: Settings, topic: str) -> KafkaSink:
    """A Kafka sink on ``topic``, which must exist (a missing topic is an error, not auto-created)."""
    from cxpulse.topics import admin_client

    with admin_client(settings.kafka) as admin:
        exists = topic in admin.list_topics()
    if not exists:
        raise ProducerError(f"topic {topic} does not exist; create it with 'cxpulse topics create'")
    return KafkaSink.connect(settings, topic)


@contextmanager
def _open(name: str) -> Iterator[tuple[IO[bytes], int | None]]:
    """The input as binary lines, and its size in bytes when known (for the progress bar)."""
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    if not path.is_file():
        raise ProducerError(f"{name}: no such file" if not path.exists() else f"{name}: not a regular file")
    try:
        # Binary files either way (typeshed calls a GzipFile a BufferedIOBase, not an IO[bytes]).
        stream = cast(IO[bytes], gzip.open(path, "rb") if name.endswith(".gz") else path.open("rb"))
    except OSError as exc:
        raise ProducerError(f"cannot read {name}: {exc.strerror or exc}") from None
    with stream:
        try:
            yield stream, None if name.endswith(".gz") else path.stat().st_size
        except (OSError, EOFError) as exc:  # e.g. a truncated .gz, a read error mid-file
            raise ProducerError(f"cannot read {name}: {exc}") from None


def _import(records: Iterator[Record], sink: EventSink, settings: Settings, request: ProduceRequest, size: int | None,
            mapper: "Mapper | None" = None) -> ImportResult:  # fmt: skip
    def reject(line: int, reason: str) -> None:
        err_console.print(f"line {line}: {one_line(reason, 300)}", markup=False, highlight=False, soft_wrap=True)

    with progress_bar("importing", size) as bar:
        seen = 0

        def progress(record: Record) -> None:
            nonlocal seen
            seen += 1
            bar.update(record.offset if size else seen, events=seen)

        result = import_records(
            records,
            sink,
            on_error=request.on_error,
            max_future_seconds=settings.validation.max_future_seconds,
            reject=reject,
            progress=progress,
            mapper=mapper,
        )
        bar.finish(size or seen, events=seen)
    return result


def _summary(result: ImportResult, request: ProduceRequest, topic: str) -> list[tuple[str, str]]:
    produced = f"none (--check: {result.produced:,} valid)" if request.check else f"{result.produced:,}"
    rows = [("read", f"{result.read:,} records"), ("produced", produced), ("rejected", f"{result.rejected:,}")]
    if request.source is not None:
        rows.append(("skipped", f"{result.skipped:,} (source {request.source} ignores them)"))
    if result.stopped_at is not None:
        rows.append(("stopped", f"at line {result.stopped_at} (--on-error stop): nothing after it was produced"))
    if not request.check:
        rows.append(("delivery", delivery_line(result.delivery, topic)))
    return rows


def _verdict(result: ImportResult, request: ProduceRequest) -> None:
    problems = []
    if result.rejected:
        problems.append(f"{result.rejected:,} invalid record(s) refused")
    if result.delivery.failed:
        problems.append(f"{result.delivery.failed:,} event(s) not delivered ({result.delivery.describe_errors()})")
    if problems:
        raise ImportAborted("; ".join(problems))
