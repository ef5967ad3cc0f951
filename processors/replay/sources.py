"""Where replayed records come from: Kafka, an archive directory, an archive file, an event file.

Every source opens as a :class:`Opened`: per-partition record streams (already clipped to
the range, see :mod:`.ranges`), how much work there is for the progress bar, and whether
its records carry Kafka timestamps (needed for ``--since``/``--until``/``--warmup``/``--diff``).
"""

import gzip
from contextlib import contextmanager
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cxpulse.processors.archive.reader import ArchiveReader, archive_file_records, looks_like_archive_line
from cxpulse.processors.archive.record import SourceRecord
from cxpulse.settings import Settings

from .errors import ReplayError
from .kafka_source import KafkaRangeReader
from .ranges import clip, key_partition

__all__ = ["Opened", "open_archive", "open_file", "open_kafka", "open_path"]

Progress = Callable[[int], None]


@dataclass
class Opened:
    """An open source. ``unit`` is what ``total`` and the progress callback count."""

    description: str
    streams: list[Iterator[SourceRecord]]
    total: int | None
    unit: str  # "records" or "bytes"
    timed: bool  # records carry Kafka timestamps
    closers: list[Callable[[], None]] = field(default_factory=list)
    partitions: int | None = None  # the source topic's partition count, when known
    # An archive directory's partitions, read again at will (``cxpulse replay --workers``):
    # bytes to read per partition, and a function opening one partition's clipped records.
    sizes: dict[int, int] | None = None
    open_partition: Callable[[int, Progress | None], Iterator[SourceRecord]] | None = None

    def close(self) -> None:
        for close in self.closers:
            close()


def open_kafka(settings: Settings, topic: str, since_ms: int | None, until_ms: int | None,
               key: bytes | None, progress: Progress) -> Opened:
    """``topic`` between two record times; with ``key``, only that key's partition."""
    reader = KafkaRangeReader(settings.kafka, topic, on_records=progress)
    try:
        count = len(reader.partitions())
        ranges = reader.plan(reader.partitions(key), since_ms, until_ms)
        streams = reader.streams(ranges)
    except BaseException:
        reader.close()
        raise
    where = ", ".join(f"{r.partition}:{r.start}..{r.stop}" for r in ranges if r.size) or "nothing"
    return Opened(f"Kafka topic {topic} (partition:offsets {where})", streams,
                  sum(r.size for r in ranges), "records", True, [reader.close], count)


def open_archive(root: Path, since_ms: int | None, until_ms: int | None, key: bytes | None,
                 progress: Progress) -> Opened:
    """An archive directory; with ``key``, only the files of that key's partition."""
    reader = ArchiveReader(root)
    partitions = reader.partitions()
    count = max([*reader.manifest.partitions, *partitions], default=-1) + 1
    if key is not None and partitions:
        partitions = [key_partition(key, count)]
    sizes = {p: sum(f.bytes for _, f in reader.files(p, since_ms, until_ms)) for p in partitions}

    def open_partition(partition: int, counted: Progress | None) -> Iterator[SourceRecord]:
        return clip(reader.records(partition, since_ms, until_ms, counted), since_ms, until_ms)

    streams = [open_partition(p, progress) for p in partitions]
    return Opened(f"archive of {reader.topic} in {root}", streams, sum(sizes.values()), "bytes", True,
                  partitions=count or None, sizes=sizes, open_partition=open_partition)


def open_file(path: Path, since_ms: int | None, until_ms: int | None, progress: Progress) -> Opened:
    """One file: archive lines (``.jsonl[.gz]`` written by ``cxpulse archive``) or events (JSONL, CSV)."""
    if not path.is_file():
        raise ReplayError(f"{path} is not a file")
    size = path.stat().st_size
    if _is_archive_file(path):
        records = clip(archive_file_records(path, progress), since_ms, until_ms)
        return Opened(f"archive file {path.name}", [records], size, "bytes", True)
    if since_ms is not None or until_ms is not None:
        raise ReplayError(f"{path.name} holds plain events without Kafka record times: "
                          "--since/--until/--warmup need Kafka or an archive (replay the whole file instead)")
    return Opened(f"event file {path.name}", [_event_file_records(path, progress)], size, "bytes", False)


def open_path(path: Path, since_ms: int | None, until_ms: int | None, key: bytes | None,
              progress: Progress) -> Opened:
    """An archive directory or a file, by what ``path`` is."""
    if path.is_dir():
        return open_archive(path, since_ms, until_ms, key, progress)
    if not path.exists():
        raise ReplayError(f"{path} does not exist")
    return open_file(path, since_ms, until_ms, progress)


def _is_archive_file(path: Path) -> bool:
    name = path.name.lower()
    if name.removesuffix(".gz").endswith(".csv"):
        return False
    try:
        with _open(path, None) as stream:
            first = next((line for line in stream if line.strip()), b"")
    except (OSError, EOFError) as exc:
        raise ReplayError(f"cannot read {path.name}: {exc}") from None
    return looks_like_archive_line(first)


def _event_file_records(path: Path, progress: Progress) -> Iterator[SourceRecord]:
    from cxpulse.producers.errors import ProducerError
    from cxpulse.producers.fileimport import format_of, read_csv, read_jsonl

    try:
        kind = format_of(path.name, None)
    except ProducerError:
        kind = "jsonl"
    with _open(path, progress) as stream:
        try:
            for record in (read_csv(stream) if kind == "csv" else read_jsonl(stream)):
                yield SourceRecord(None, record.line, None, None, record.value, problem=record.error)
        except ProducerError as exc:
            raise ReplayError(f"{path.name}: {exc}") from None
        except (OSError, EOFError) as exc:
            raise ReplayError(f"cannot read {path.name}: {exc}") from None


class _Counting:
    """A binary stream that reports how many bytes were read from it."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw, self._progress = raw, progress

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._progress(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self._progress(len(data))
        return data

    def __iter__(self) -> "_Counting":
        return self

    def __next__(self) -> bytes:  # the CSV reader calls next() on the stream itself
        line = self.readline()
        if not line:
            raise StopIteration
        return line


@contextmanager
def _open(path: Path, progress: Progress | None) -> Iterator[Any]:
    """The file's bytes (decompressed for ``.gz``); ``progress`` counts bytes read from disk."""
    with path.open("rb") as raw:
        counted: Any = raw if progress is None else _Counting(raw, progress)
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=counted, mode="rb") as unzipped:
                yield unzipped
        else:
            yield counted
