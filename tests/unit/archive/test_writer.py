"""Writing, checkpointing, resuming and reading back an archive directory (on a temporary disk)."""

import gzip
from datetime import UTC, datetime

import pytest

from cxpulse.processors.archive import ArchiveReader, Manifest, SourceRecord, decode_line
from cxpulse.processors.archive.errors import ArchiveError
from cxpulse.processors.archive.store import files_on_disk, open_for_writing
from cxpulse.processors.archive.writer import ArchiveWriter

DAY_MS = 86_400_000
T0 = int(datetime(2025, 3, 3, tzinfo=UTC).timestamp() * 1000)


def record(partition: int, offset: int, ts: int) -> SourceRecord:
    return SourceRecord(partition, offset, ts, f"C-{offset % 7}".encode(), f'{{"n":{offset}}}'.encode(),
                        (("h", b"v"),))


def stream(partition: int, count: int, start: int = 0, step: int = 3_600_000) -> list[SourceRecord]:
    return [record(partition, o, T0 + o * step) for o in range(start, start + count)]


def write(root, records, checkpoint_every=None) -> Manifest:
    manifest, lock, _ = open_for_writing(root, "cx.events")
    try:
        writer = ArchiveWriter(root, manifest)
        for i, r in enumerate(records, start=1):
            writer.add(r)
            if checkpoint_every and i % checkpoint_every == 0:
                writer.checkpoint()
        writer.checkpoint()
        return manifest
    finally:
        lock.release()


def read_all(root, partition):
    return [(r.partition, r.offset) for r in ArchiveReader(root).records(partition)]


def test_records_come_back_per_partition_in_offset_order(tmp_path):
    records = stream(0, 100) + stream(1, 60)

    manifest = write(tmp_path, records, checkpoint_every=17)

    assert read_all(tmp_path, 0) == [(0, o) for o in range(100)]
    assert read_all(tmp_path, 1) == [(1, o) for o in range(60)]
    assert manifest.next_offsets() == {0: 100, 1: 60}
    back = list(ArchiveReader(tmp_path).records(0))
    assert back[5].key == records[5].key and back[5].value_bytes() == records[5].value
    assert back[5].headers == records[5].headers


def test_files_are_per_utc_day_of_the_record_time(tmp_path):
    write(tmp_path, stream(0, 100))  # 100 hours: 2025-03-03 .. 2025-03-07

    days = sorted(name.split("/")[0] for name in files_on_disk(tmp_path))
    assert days == ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07"]
    for name in files_on_disk(tmp_path):
        with gzip.open(tmp_path / name) as data:  # any gzip tool reads a file as one JSONL stream
            assert all(decode_line(line).timestamp // DAY_MS * DAY_MS == int(
                datetime.fromisoformat(name[:10]).replace(tzinfo=UTC).timestamp() * 1000) for line in data)


def test_a_record_stamped_before_midnight_after_the_next_day_began_stays_in_the_later_file(tmp_path):
    late = [record(0, 0, T0 + DAY_MS - 10), record(0, 1, T0 + DAY_MS + 5), record(0, 2, T0 + DAY_MS - 1),
            record(0, 3, T0 + DAY_MS + 9)]

    manifest = write(tmp_path, late)

    assert {n: (f.first_offset, f.last_offset) for n, f in manifest.files.items()} == {
        "2025-03-03/cx.events-0.jsonl.gz": (0, 0), "2025-03-04/cx.events-0.jsonl.gz": (1, 3)}
    assert read_all(tmp_path, 0) == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_resume_cuts_a_torn_checkpoint_and_removes_files_written_after_it(tmp_path):
    write(tmp_path, stream(0, 30), checkpoint_every=10)
    current = tmp_path / "2025-03-04/cx.events-0.jsonl.gz"
    durable = current.stat().st_size
    with open(current, "ab") as out:  # half a gzip member: a crash in the middle of a checkpoint
        out.write(gzip.compress(b'{"partial": true}\n' * 50)[:40])
    orphan = tmp_path / "2025-03-09/cx.events-0.jsonl.gz"
    orphan.parent.mkdir()
    orphan.write_bytes(gzip.compress(b"written after the last manifest\n"))

    manifest, lock, repair = open_for_writing(tmp_path, "cx.events")
    lock.release()

    assert repair.truncate == {"2025-03-04/cx.events-0.jsonl.gz": durable}
    assert repair.remove == ["2025-03-09/cx.events-0.jsonl.gz"]
    assert current.stat().st_size == durable and not orphan.exists()
    assert manifest.next_offsets() == {0: 30}


def test_resuming_writes_each_offset_once(tmp_path):
    write(tmp_path, stream(0, 40), checkpoint_every=8)
    write(tmp_path, stream(0, 40, start=35) + stream(0, 5, start=75))  # re-read overlap after a restart

    assert read_all(tmp_path, 0) == [(0, o) for o in range(80)]


def test_readers_see_only_checkpointed_bytes(tmp_path):
    write(tmp_path, stream(0, 20))
    current = tmp_path / "2025-03-03/cx.events-0.jsonl.gz"
    with open(current, "ab") as out:
        out.write(b"\x1f\x8b\x08 partial member being written")

    assert read_all(tmp_path, 0) == [(0, o) for o in range(20)]


def test_a_second_writer_is_refused(tmp_path):
    _, lock, _ = open_for_writing(tmp_path, "cx.events")
    try:
        with pytest.raises(ArchiveError, match="another"):
            open_for_writing(tmp_path, "cx.events")
    finally:
        lock.release()


def test_an_archive_of_another_topic_is_refused(tmp_path):
    write(tmp_path, stream(0, 3))

    with pytest.raises(ArchiveError, match="archives topic cx.events"):
        open_for_writing(tmp_path, "other")


def test_a_directory_without_manifest_is_not_an_archive(tmp_path):
    with pytest.raises(ArchiveError, match="manifest.json"):
        ArchiveReader(tmp_path)


def test_prune_removes_old_days_but_never_a_current_file(tmp_path):
    manifest = write(tmp_path, stream(0, 100) + [record(1, 0, T0)])
    writer = ArchiveWriter(tmp_path, manifest)

    removed = writer.prune(2, "2025-03-07")

    assert removed == ["2025-03-03/cx.events-0.jsonl.gz", "2025-03-04/cx.events-0.jsonl.gz",
                       "2025-03-05/cx.events-0.jsonl.gz"]  # partition 1's current file (03-03) stays
    assert sorted(files_on_disk(tmp_path)) == ["2025-03-03/cx.events-1.jsonl.gz", "2025-03-06/cx.events-0.jsonl.gz",
                                               "2025-03-07/cx.events-0.jsonl.gz"]
    assert Manifest.load(tmp_path).files.keys() == files_on_disk(tmp_path).keys()
