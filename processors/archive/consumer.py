"""``cxpulse archive``'s loop: read ``cx.events`` from the manifest's offsets, checkpoint often.

Offsets are also committed to the archive's consumer group after each checkpoint, so the
usual lag tools see how far behind the archive is; the manifest, not the group, decides
where a restarted archive resumes.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cxpulse.settings import Settings

from .kafka import open_consumer, topic_partitions
from .manifest import Manifest
from .record import SourceRecord
from .settings import ArchiveSettings
from .writer import ArchiveWriter, Checkpoint

__all__ = ["ArchiveRun", "Archiver"]

log = logging.getLogger(__name__)
POLL_MS = 500
REFRESH_SECONDS = 60.0  # look for new partitions this often


@dataclass
class ArchiveRun:
    """What one ``cxpulse archive`` run did."""

    records: int = 0
    checkpoints: int = 0
    bytes: int = 0
    started_at: dict[int, int] = field(default_factory=dict)  # partition -> first offset read
    ended_at: dict[int, int] = field(default_factory=dict)  # partition -> next offset
    gaps: list[dict] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


class Archiver:
    """Copies one topic into an archive directory; :meth:`run` until the end or ``stop()``."""

    def __init__(self, settings: Settings, root: Path, manifest: Manifest, *, once: bool = False,
                 on_checkpoint: Callable[[Checkpoint, ArchiveRun], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.config: ArchiveSettings = settings.archive
        self.topic = manifest.topic
        self.writer = ArchiveWriter(root, manifest, self.config.compresslevel)
        self.once = once
        self.on_checkpoint = on_checkpoint
        self.clock = clock
        self.stopping = False
        self.result = ArchiveRun()
        self._consumer: Any = None
        self._ends: dict[int, int] = {}

    def stop(self) -> None:
        """Ask the loop to end after the current poll (safe from a signal handler)."""
        self.stopping = True

    def run(self) -> ArchiveRun:
        """Archive until the end of the topic (``once``) or :meth:`stop`; always checkpoints last."""
        self._consumer = open_consumer(self.settings.kafka, self.config.group_id, max_poll_records=20_000)
        try:
            self._assign(topic_partitions(self._consumer, self.topic))
            try:
                self._loop()
            finally:
                self._checkpoint(final=True)  # what was read is kept, even on Ctrl-C
        finally:
            self._consumer.close(autocommit=False)
        self.result.ended_at = dict(self.writer.manifest.next_offsets())
        return self.result

    def _loop(self) -> None:
        last = refreshed = self.clock()
        while not self.stopping and not (self.once and self._at_end()):
            for tp, records in self._consumer.poll(timeout_ms=POLL_MS).items():
                self._add(tp.partition, records)
            now = self.clock()
            if self.writer.buffered >= self.config.flush_records or (
                    self.writer.buffered and now - last >= self.config.flush_seconds):
                self._checkpoint()
                last = now
            if not self.once and now - refreshed >= REFRESH_SECONDS:
                self._refresh()
                refreshed = now

    def _add(self, partition: int, records: list) -> None:
        end = self._ends.get(partition) if self.once else None
        for record in records:
            if end is not None and record.offset >= end:
                break  # written after the run began: the next run takes it
            if self.writer.add(SourceRecord.from_consumer(record)):
                self.result.records += 1

    def _assign(self, partitions: list[int]) -> None:
        from kafka import TopicPartition

        tps = [TopicPartition(self.topic, p) for p in partitions]
        self._consumer.assign(tps)
        beginning = self._consumer.beginning_offsets(tps)
        manifest = self.writer.manifest
        resume = self.writer.resume_offsets()
        for tp in tps:
            start = beginning[tp]
            wanted = resume.get(tp.partition)
            if wanted is not None and wanted < start:
                gap = {"partition": tp.partition, "from_offset": wanted, "to_offset": start,
                       "noticed_at": datetime.now(UTC).isoformat(timespec="seconds")}
                manifest.gaps.append(gap)
                self.result.gaps.append(gap)
                log.warning("partition %d: offsets %d..%d expired before they were archived",
                            tp.partition, wanted, start - 1)
            position = start if wanted is None else max(wanted, start)
            self.writer.skip_to(tp.partition, position)
            self._consumer.seek(tp, position)
            self.result.started_at.setdefault(tp.partition, position)
        if self.once:
            self._ends = {tp.partition: end for tp, end in self._consumer.end_offsets(tps).items()}

    def _refresh(self) -> None:
        partitions = topic_partitions(self._consumer, self.topic)
        if set(partitions) != {tp.partition for tp in self._consumer.assignment()}:
            log.info("topic %s now has %d partitions", self.topic, len(partitions))
            self._assign(partitions)

    def _at_end(self) -> bool:
        for tp in self._consumer.assignment():
            if self._consumer.position(tp) < self._ends.get(tp.partition, 0):
                return False
        return True

    def _checkpoint(self, final: bool = False) -> None:
        if not self.writer.buffered and not final:
            return
        done = self.writer.checkpoint()
        self.result.checkpoints += 1
        self.result.bytes += done.bytes
        self._commit()
        if self.config.retention_days:
            today = datetime.now(UTC).date().isoformat()
            self.result.pruned += self.writer.prune(self.config.retention_days, today)
        if self.on_checkpoint is not None:
            self.on_checkpoint(done, self.result)

    def _commit(self) -> None:
        """Tell the consumer group how far the archive is (monitoring only; best effort)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        offsets = {TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1)
                   for p, o in self.writer.manifest.next_offsets().items()}
        try:
            self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("could not commit the archive's offsets to group %s: %s", self.config.group_id, exc)
