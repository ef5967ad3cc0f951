"""Reading the archive back: one partition's records in offset order, day by day.

Only the bytes the manifest calls durable are read, so reading while ``cxpulse archive``
is writing is safe. Range clipping (Kafka's offsets-for-times rule) is the caller's:
see :func:`cxpulse.processors.replay.ranges.clip`.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import ArchiveError
from .gzlines import GZIP_ERRORS, gzip_lines
from .layout import MANIFEST, days_to_read
from .lines import ArchiveLineError, decode_line
from .manifest import FileEntry, Manifest
from .record import SourceRecord

__all__ = ["ArchiveReader", "archive_file_records", "looks_like_archive_line"]

Progress = Callable[[int], None]


class ArchiveReader:
    """An archive directory written by ``cxpulse archive``."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ArchiveError(f"archive directory {root} does not exist")
        manifest = Manifest.load(root)
        if manifest is None:
            raise ArchiveError(f"{root} has no {MANIFEST}: not an archive written by 'cxpulse archive'")
        self.root = root
        self.manifest = manifest
        self.topic = manifest.topic

    def partitions(self) -> list[int]:
        """Partitions with at least one file."""
        return sorted({f.partition for f in self.manifest.files.values()})

    def files(self, partition: int, since_ms: int | None = None,
              until_ms: int | None = None) -> list[tuple[str, FileEntry]]:
        """The partition's files that can hold records of ``[since, until)``, in order."""
        files = self.manifest.files_of(partition)
        days = set(days_to_read([f.day for _, f in files], since_ms, until_ms))
        return [(n, f) for n, f in files if f.day in days]

    def records(self, partition: int, since_ms: int | None = None, until_ms: int | None = None,
                progress: Progress | None = None) -> Iterator[SourceRecord]:
        """Every record of the files :meth:`files` selects, in offset order (not clipped)."""
        for name, entry in self.files(partition, since_ms, until_ms):
            path = self.root / name
            if not path.exists():
                continue  # removed by hand (retention); the manifest still lists it
            yield from _file_records(path, name, entry.bytes, progress)


def _file_records(path: Path, name: str, length: int | None,
                  progress: Progress | None) -> Iterator[SourceRecord]:
    number = 0
    try:
        with open(path, "rb") as stream:
            for number, line in enumerate(gzip_lines(stream, length, progress), start=1):  # noqa: B007 - the except clause below names the line
                if line != b"\n":
                    yield decode_line(line)
    except ArchiveLineError as exc:
        raise ArchiveError(f"{name} line {number}: {exc}") from None
    except GZIP_ERRORS as exc:
        raise ArchiveError(f"{name}: damaged gzip data ({exc})") from None


def archive_file_records(path: Path, progress: Progress | None = None) -> Iterator[SourceRecord]:
    """The records of one archive file (``.jsonl.gz`` or plain ``.jsonl``), as written."""
    if path.name.endswith(".gz"):
        yield from _file_records(path, path.name, None, progress)
        return
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, start=1):
            if progress is not None:
                progress(len(line))
            if line.strip():
                try:
                    yield decode_line(line)
                except ArchiveLineError as exc:
                    raise ArchiveError(f"{path.name} line {number}: {exc}") from None


def looks_like_archive_line(line: bytes) -> bool:
    """Whether the first line of a JSONL file is an archive record (not an event)."""
    try:
        decode_line(line)
    except ArchiveLineError:
        return False
    return True
