"""The event archive: ``cx.events`` kept as date-partitioned, gzip-compressed JSONL.

``cxpulse archive`` writes it (:mod:`.consumer`, :mod:`.writer`), resumably, from a
manifest of offsets (:mod:`.manifest`); ``cxpulse replay`` and ``cxpulse customer`` read
it back (:mod:`.reader`). One line per Kafka record (:mod:`.lines`). See docs/replay.md.
"""

from .lines import ArchiveLineError, decode_line, encode_line
from .manifest import FileEntry, Manifest, PartitionEntry
from .reader import ArchiveReader
from .record import SourceRecord

__all__ = [
    "ArchiveLineError",
    "ArchiveReader",
    "FileEntry",
    "Manifest",
    "PartitionEntry",
    "SourceRecord",
    "decode_line",
    "encode_line",
]
