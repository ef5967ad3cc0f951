"""Replaying from Kafka and from the archive of the same topic gives the same alerts and scores."""

import orjson

from cxpulse.processors.replay.ranges import key_partition

from .conftest import START_MS


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def outputs(directory) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in ("alerts.jsonl", "scores.jsonl", "invalid.jsonl")}


def test_kafka_and_archive_replays_are_identical(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=300, days=5, seed=3)
    send_records(settings.topics.events, records)

    archived = cli(settings, "archive", "--dir", "arch", "--once")
    from_kafka = cli(settings, "replay", "--out", "k")
    from_archive = cli(settings, "replay", "--from", "arch", "--out", "a")
    in_processes = cli(settings, "replay", "--from", "arch", "--workers", "3", "--out", "w")

    assert f"Archived {len(records)} records" in archived.out
    kafka, archive = outputs(tmp_path / "k"), outputs(tmp_path / "a")
    assert kafka == archive
    assert outputs(tmp_path / "w") == archive  # three processes, one per partition: the same bytes
    assert "Replay of archive of" in in_processes.out
    summary = orjson.loads((tmp_path / "k/summary.json").read_bytes())
    assert summary["events"] == orjson.loads((tmp_path / "a/summary.json").read_bytes())["events"]
    assert summary["events"]["read"] == len(records)
    assert (summary["events"]["invalid"], summary["events"]["duplicates"]) == (11, 25)
    assert summary["alerts"]["total"] > 50 and len(summary["alerts"]["by_rule"]) >= 5
    assert "Alerts (" in from_kafka.out and "Replay of archive of" in from_archive.out


def test_a_time_range_means_the_same_records_in_both(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=200, days=4, seed=5)
    send_records(settings.topics.events, records)
    cli(settings, "archive", "--dir", "arch", "--once")
    since, until = START_MS + 1000 * (len(records) // 3), START_MS + 1000 * (2 * len(records) // 3)
    window = ["--since", iso(since), "--until", iso(until), "--warmup", "1h"]

    cli(settings, "replay", *window, "--out", "k")
    cli(settings, "replay", "--from", "arch", *window, "--out", "a")

    assert outputs(tmp_path / "k") == outputs(tmp_path / "a")
    events = orjson.loads((tmp_path / "k/summary.json").read_bytes())["events"]
    assert events["read"] == sum(since <= r.timestamp < until for r in records)
    assert events["warmup"] == sum(since - 3600_000 <= r.timestamp < since for r in records) - sum(
        1 for r in records if since - 3600_000 <= r.timestamp < since and r.key in (b"C-broken", b"C-binary"))


def test_one_customer_reads_one_partition(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=200, days=4, seed=6)
    send_records(settings.topics.events, records)
    cli(settings, "archive", "--dir", "arch", "--once")
    cli(settings, "replay", "--out", "all")
    alerted = orjson.loads((tmp_path / "all/summary.json").read_bytes())["top_customers"][0]["customer_id"]
    partitions = [sum(r.partition == key_partition(alerted.encode(), 3) for r in records)]

    run = cli(settings, "replay", "--customer", alerted, "--out", "k")
    cli(settings, "replay", "--from", "arch", "--customer", alerted, "--out", "a")

    assert outputs(tmp_path / "k") == outputs(tmp_path / "a")
    source = orjson.loads((tmp_path / "k/summary.json").read_bytes())["source"]
    assert source.endswith(f"(partition:offsets {key_partition(alerted.encode(), 3)}:0..{partitions[0]})")
    assert "Replay of Kafka topic" in run.out
    mine = [orjson.loads(line) for line in (tmp_path / "k/alerts.jsonl").read_bytes().splitlines()]
    everyone = [orjson.loads(line) for line in (tmp_path / "all/alerts.jsonl").read_bytes().splitlines()]
    assert mine and all(a["customer_id"] == alerted for a in mine)
    # Alone, the stream clock is the customer's own: every alert is one the full replay has.
    assert {a["alert_id"] for a in mine} <= {a["alert_id"] for a in everyone if a["customer_id"] == alerted}
