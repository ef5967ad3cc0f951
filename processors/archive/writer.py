"""Buffers records per partition and makes them durable in checkpoints.

A checkpoint appends one gzip member per (partition, day) to that file, fsyncs it, then
saves the manifest with the new lengths and next offsets. Concatenated gzip members are
one valid gzip stream, so ``zcat`` and every gzip reader see one JSONL file.
"""

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from .layout import day_of, file_name, retired_days
from .lines import encode_line
from .manifest import FileEntry, Manifest, PartitionEntry, fsync_dir
from .record import SourceRecord

__all__ = ["ArchiveWriter", "Checkpoint"]


class _Chunk:
    """Records of one partition bound for one day's file since the last checkpoint."""

    __slots__ = ("day", "lines", "first", "last", "low", "high")

    def __init__(self, day: str, first: int) -> None:
        self.lines: list[bytes] = []
        self.day, self.first, self.last = day, first, first
        self.low: int | None = None
        self.high: int | None = None


@dataclass(frozen=True)
class Checkpoint:
    """What one checkpoint made durable."""

    records: int
    bytes: int
    files: int


class ArchiveWriter:
    """Writes records of ``manifest.topic`` under ``root``; call :meth:`checkpoint` to persist."""

    def __init__(self, root: Path, manifest: Manifest, compresslevel: int = 6) -> None:
        self.root = root
        self.manifest = manifest
        self.compresslevel = compresslevel
        self._chunks: dict[int, list[_Chunk]] = {}
        self._next: dict[int, int] = manifest.next_offsets()
        self.buffered = 0

    def add(self, record: SourceRecord) -> bool:
        """Buffer one record; ``False`` (ignored) if the archive already has its offset."""
        p, offset = record.partition, record.offset
        if p is None or offset is None:  # a record of an event file, not of a topic
            raise ValueError("an archived record needs its partition and offset")
        if offset < self._next.get(p, 0):
            return False
        self._next[p] = offset + 1
        chunks = self._chunks.setdefault(p, [])
        day = self._day(p, chunks, record.timestamp)
        if not chunks or chunks[-1].day != day:
            chunks.append(_Chunk(day, offset))
        chunk = chunks[-1]
        chunk.lines.append(encode_line(record))
        chunk.last = offset
        ts = record.timestamp
        if ts is not None and ts >= 0:
            chunk.low = ts if chunk.low is None else min(chunk.low, ts)
            chunk.high = ts if chunk.high is None else max(chunk.high, ts)
        self.buffered += 1
        return True

    def _day(self, partition: int, chunks: list[_Chunk], timestamp: int | None) -> str:
        """The record's UTC day, never earlier than the partition's current day."""
        current = chunks[-1].day if chunks else self.manifest.partitions.get(partition, _NO_DAY).day
        day = day_of(timestamp) if timestamp is not None and timestamp >= 0 else (current or day_of(0))
        return max(day, current) if current else day

    def resume_offsets(self) -> dict[int, int]:
        """Per partition, the next offset to read (buffered records included)."""
        return dict(self._next)

    def skip_to(self, partition: int, offset: int) -> None:
        """Resume ``partition`` at ``offset`` (e.g. after expired records); nothing buffered moves."""
        if offset > self._next.get(partition, 0):
            self._next[partition] = offset

    def checkpoint(self) -> Checkpoint:
        """Write every buffered record durably, then save the manifest."""
        records = written = files = 0
        for partition, chunks in sorted(self._chunks.items()):
            for chunk in chunks:
                written += self._append(partition, chunk)
                records += len(chunk.lines)
                files += 1
        for partition, offset in self._next.items():
            entry = self.manifest.partitions.setdefault(partition, PartitionEntry(offset))
            entry.next_offset = max(entry.next_offset, offset)
            pending = self._chunks.get(partition)
            if pending:
                entry.day = pending[-1].day
        self.manifest.save(self.root)
        self._chunks.clear()
        self.buffered = 0
        return Checkpoint(records, written, files)

    def _append(self, partition: int, chunk: _Chunk) -> int:
        name = file_name(chunk.day, self.manifest.topic, partition)
        path = self.root / name
        entry = self.manifest.files.get(name)
        if entry is None:
            entry = FileEntry(partition, chunk.day)
        data = gzip.compress(b"".join(chunk.lines), compresslevel=self.compresslevel, mtime=0)
        _durable_append(path, data, entry.bytes)
        entry.bytes += len(data)
        entry.records += len(chunk.lines)
        entry.first_offset = chunk.first if entry.first_offset is None else entry.first_offset
        entry.last_offset = chunk.last
        entry.min_timestamp = _pick(min, entry.min_timestamp, chunk.low)
        entry.max_timestamp = _pick(max, entry.max_timestamp, chunk.high)
        self.manifest.files[name] = entry
        return len(data)

    def prune(self, keep_days: int, today: str) -> list[str]:
        """Drop files of days older than ``keep_days`` (never a partition's current day)."""
        topic = self.manifest.topic
        current = {file_name(e.day, topic, p) for p, e in self.manifest.partitions.items() if e.day}
        retired = set(retired_days([f.day for f in self.manifest.files.values()], keep_days, today))
        names = sorted(n for n, f in self.manifest.files.items() if f.day in retired and n not in current)
        if not names:
            return []
        for name in names:
            del self.manifest.files[name]
        self.manifest.save(self.root)  # first the manifest: a file it does not list is garbage
        for name in names:
            (self.root / name).unlink(missing_ok=True)
            _remove_if_empty(self.root / name.split("/")[0])
        return names


_NO_DAY = PartitionEntry(0, None)


def _pick(fn, old: int | None, new: int | None) -> int | None:
    if old is None:
        return new
    return old if new is None else fn(old, new)


def _durable_append(path: Path, data: bytes, durable_length: int) -> None:
    """Append ``data`` and fsync; on failure cut the file back to its durable length."""
    new_dir = not path.parent.exists()
    if new_dir:
        path.parent.mkdir(parents=True)
        fsync_dir(path.parent.parent)
    new_file = not path.exists()
    with open(path, "ab") as out:
        try:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            out.truncate(durable_length)
            raise
    if new_file:
        fsync_dir(path.parent)


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty, or already gone
