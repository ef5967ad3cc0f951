"""``cxpulse archive`` resumes after a kill or Ctrl-C with no gap and no duplicate."""

import gzip
import signal

from cxpulse.processors.archive import ArchiveReader, Manifest


def archived(root) -> dict[int, list]:
    reader = ArchiveReader(root)
    return {p: list(reader.records(p)) for p in reader.partitions()}


def fields(record):
    return record.partition, record.offset, record.key, record.value_bytes(), record.timestamp, record.headers


def assert_exactly_the_topic(root, topic_records):
    by_partition = archived(root)
    for p, records in by_partition.items():
        assert [r.offset for r in records] == list(range(len(records))), f"partition {p} has gaps or duplicates"
    assert sorted(fields(r) for rs in by_partition.values() for r in rs) == sorted(fields(r) for r in topic_records)


def manifest_records(root) -> int:
    manifest = Manifest.load(root) if (root / "manifest.json").exists() else None
    return 0 if manifest is None else sum(f.records for f in manifest.files.values())


def test_killed_mid_way_then_resumed(settings_factory, scenario, send_records, read_topic, start_cli, cli, wait_for,
                                     tmp_path):
    settings = settings_factory(partitions=3, archive={"flush_records": 300, "flush_seconds": 3600})
    records = scenario(customers=600, days=6, seed=41)
    send_records(settings.topics.events, records[:4000])
    root = tmp_path / "arch"
    running = start_cli(settings, "archive", "--dir", "arch")
    wait_for(lambda: manifest_records(root) > 0, timeout=90, message="a first checkpoint")
    running.send_signal(signal.SIGKILL)
    running.wait(30)
    # What a crash in the middle of a checkpoint leaves: a torn gzip member, a file the manifest never saw.
    manifest = Manifest.load(root)
    name = next(iter(manifest.files))
    with open(root / name, "ab") as out:
        out.write(gzip.compress(b'{"torn": true}\n' * 100)[:57])
    orphan = root / "2031-01-01" / f"{settings.topics.events}-0.jsonl.gz"
    orphan.parent.mkdir()
    orphan.write_bytes(gzip.compress(b"not checkpointed\n"))
    send_records(settings.topics.events, records[4000:])

    resumed = cli(settings, "archive", "--dir", "arch", "--once")

    assert f"resume: cut {name} back to its last checkpoint" in resumed.err
    assert "resume: removed 2031-01-01/" in resumed.err and not orphan.exists()
    assert_exactly_the_topic(root, read_topic(settings.topics.events))


def test_ctrl_c_checkpoints_what_was_read(settings_factory, scenario, send_records, read_topic, start_cli, cli,
                                          wait_for, tmp_path):
    settings = settings_factory(partitions=2, archive={"flush_records": 200, "flush_seconds": 3600})
    records = scenario(customers=300, days=4, seed=42, partitions=2)
    send_records(settings.topics.events, records[:1500])
    root = tmp_path / "arch"
    running = start_cli(settings, "archive", "--dir", "arch")
    wait_for(lambda: manifest_records(root) > 0, timeout=90, message="a first checkpoint")

    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=60)

    assert running.returncode == 0, err
    assert "stopping after the current checkpoint" in err and "Archived" in out
    kept = manifest_records(root)
    assert kept == sum(len(rs) for rs in archived(root).values()) > 0
    send_records(settings.topics.events, records[1500:])
    cli(settings, "archive", "--dir", "arch", "--once")
    assert_exactly_the_topic(root, read_topic(settings.topics.events))


def test_once_on_an_up_to_date_archive_adds_nothing(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=2)
    send_records(settings.topics.events, scenario(customers=60, days=2, seed=43, partitions=2))
    cli(settings, "archive", "--dir", "arch", "--once")
    before = (tmp_path / "arch/manifest.json").read_bytes()

    again = cli(settings, "archive", "--dir", "arch", "--once")

    assert "Archived 0 records" in again.out
    assert Manifest.from_json(before).files == Manifest.load(tmp_path / "arch").files
