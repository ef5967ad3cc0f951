"""The manifest: which files hold what, and where each partition resumes.

``manifest.json`` is the archive's truth. It is replaced atomically (write, fsync,
rename, fsync the directory) only after the data it describes is on disk, so after a
crash the archive resumes exactly at each partition's ``next_offset``: bytes appended
after the last manifest are cut off and files it does not list are removed
(:func:`reconcile`), then the records are read again from Kafka. No gap, no duplicate.
"""

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from .errors import ArchiveError
from .layout import MANIFEST, parse_file_name

__all__ = ["FORMAT", "FileEntry", "Manifest", "PartitionEntry", "Repair", "fsync_dir", "reconcile"]

FORMAT = 1


@dataclass
class FileEntry:
    """One file: its durable length and the records in it."""

    partition: int
    day: str
    bytes: int = 0
    records: int = 0
    first_offset: int | None = None
    last_offset: int | None = None
    min_timestamp: int | None = None
    max_timestamp: int | None = None


@dataclass
class PartitionEntry:
    """Where a partition resumes, and the day its records currently go to."""

    next_offset: int
    day: str | None = None


@dataclass
class Manifest:
    """The archive of one topic."""

    topic: str
    partitions: dict[int, PartitionEntry] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)
    gaps: list[dict] = field(default_factory=list)  # offsets that expired before being archived
    format: int = FORMAT

    def files_of(self, partition: int) -> list[tuple[str, FileEntry]]:
        """The partition's files, in day order (which is offset order)."""
        return sorted(((n, f) for n, f in self.files.items() if f.partition == partition),
                      key=lambda item: item[1].day)

    def next_offsets(self) -> dict[int, int]:
        return {p: entry.next_offset for p, entry in self.partitions.items()}

    def to_json(self) -> bytes:
        data = {"format": self.format, "topic": self.topic,
                "partitions": {str(p): asdict(e) for p, e in sorted(self.partitions.items())},
                "files": {n: asdict(f) for n, f in sorted(self.files.items())}, "gaps": self.gaps}
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> "Manifest":
        try:
            obj = orjson.loads(data)
            if obj.get("format") != FORMAT:
                raise ArchiveError(f"{MANIFEST}: unsupported format {obj.get('format')!r}")
            return cls(obj["topic"], {int(p): PartitionEntry(**e) for p, e in obj["partitions"].items()},
                       {n: FileEntry(**f) for n, f in obj["files"].items()}, list(obj.get("gaps", [])))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArchiveError(f"{MANIFEST} is damaged ({type(exc).__name__}: {exc})") from None

    @classmethod
    def load(cls, root: Path) -> "Manifest | None":
        """The manifest in ``root``, or ``None`` when there is none (a new archive)."""
        try:
            return cls.from_json((root / MANIFEST).read_bytes())
        except FileNotFoundError:
            return None

    def save(self, root: Path) -> None:
        """Replace ``root/manifest.json`` atomically and durably."""
        tmp = root / (MANIFEST + ".tmp")
        with open(tmp, "wb") as out:
            out.write(self.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, root / MANIFEST)
        fsync_dir(root)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Repair:
    """What :func:`reconcile` found: files to cut back, remove, or forget."""

    truncate: dict[str, int]  # name -> durable length
    remove: list[str]  # on disk, written after the last manifest
    forget: list[str]  # listed, but no longer on disk (removed by hand)


def reconcile(manifest: Manifest, on_disk: dict[str, int]) -> Repair:
    """Compare the manifest with the archive files on disk (relative name -> size).

    Raises :class:`ArchiveError` when a file is shorter than the manifest says: data
    that was reported durable is gone, and resuming would leave a hole.
    """
    truncate: dict[str, int] = {}
    remove = sorted(n for n in on_disk if n not in manifest.files and _ours(n, manifest.topic))
    forget = sorted(n for n in manifest.files if n not in on_disk)
    for name, entry in manifest.files.items():
        size = on_disk.get(name)
        if size is None:
            continue
        if size < entry.bytes:
            raise ArchiveError(f"{name} has {size} bytes but the manifest recorded {entry.bytes}: "
                               "the archive lost data; restore the file or remove it from the manifest")
        if size > entry.bytes:
            truncate[name] = entry.bytes
    return Repair(truncate, remove, forget)


def _ours(name: str, topic: str) -> bool:
    parsed = parse_file_name(name)
    return parsed is not None and parsed[1] == topic
