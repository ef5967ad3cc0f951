"""The manifest and the crash bookkeeping of :func:`reconcile`."""

import pytest

from cxpulse.processors.archive import FileEntry, Manifest, PartitionEntry
from cxpulse.processors.archive.errors import ArchiveError
from cxpulse.processors.archive.manifest import reconcile


def manifest() -> Manifest:
    return Manifest("cx.events", {0: PartitionEntry(120, "2025-03-04"), 1: PartitionEntry(80, "2025-03-03")}, {
        "2025-03-03/cx.events-0.jsonl.gz": FileEntry(0, "2025-03-03", 500, 100, 0, 99, 1, 2),
        "2025-03-04/cx.events-0.jsonl.gz": FileEntry(0, "2025-03-04", 200, 20, 100, 119, 3, 4),
        "2025-03-03/cx.events-1.jsonl.gz": FileEntry(1, "2025-03-03", 300, 80, 0, 79, 1, 2),
    })


def test_json_round_trip():
    original = manifest()
    original.gaps.append({"partition": 1, "from_offset": 0, "to_offset": 5, "noticed_at": "2025-03-04T00:00:00+00:00"})

    assert Manifest.from_json(original.to_json()) == original


def test_files_of_a_partition_in_day_order():
    assert [f.day for _, f in manifest().files_of(0)] == ["2025-03-03", "2025-03-04"]


@pytest.mark.parametrize("data", [b"{", b"[]", b'{"format": 1}', b'{"format": 99, "topic": "t"}'])
def test_a_damaged_manifest_is_an_archive_error(data):
    with pytest.raises(ArchiveError):
        Manifest.from_json(data)


def test_a_clean_archive_needs_no_repair():
    on_disk = {name: f.bytes for name, f in manifest().files.items()}

    repair = reconcile(manifest(), on_disk)

    assert (repair.truncate, repair.remove, repair.forget) == ({}, [], [])


def test_bytes_after_the_last_checkpoint_are_cut_and_new_files_removed():
    on_disk = {name: f.bytes for name, f in manifest().files.items()}
    on_disk["2025-03-04/cx.events-0.jsonl.gz"] += 77  # a checkpoint that crashed before the manifest
    on_disk["2025-03-04/cx.events-1.jsonl.gz"] = 40  # a file that checkpoint created
    on_disk["2025-03-04/other-topic-0.jsonl.gz"] = 10  # not ours: left alone

    repair = reconcile(manifest(), on_disk)

    assert repair.truncate == {"2025-03-04/cx.events-0.jsonl.gz": 200}
    assert repair.remove == ["2025-03-04/cx.events-1.jsonl.gz"]
    assert repair.forget == []


def test_files_removed_by_hand_are_forgotten():
    on_disk = {name: f.bytes for name, f in manifest().files.items() if "03-03" not in name}

    repair = reconcile(manifest(), on_disk)

    assert repair.forget == ["2025-03-03/cx.events-0.jsonl.gz", "2025-03-03/cx.events-1.jsonl.gz"]


def test_a_file_shorter_than_its_checkpoint_lost_data():
    on_disk = {name: f.bytes for name, f in manifest().files.items()}
    on_disk["2025-03-03/cx.events-1.jsonl.gz"] -= 1

    with pytest.raises(ArchiveError, match="lost data"):
        reconcile(manifest(), on_disk)
