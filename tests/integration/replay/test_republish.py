"""``replay --to-topic`` copies a range record for record: key, value, timestamp, headers."""

from .conftest import START_MS


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def fields(record):
    return record.key, record.value_bytes(), record.timestamp, record.headers


def test_a_republished_range_matches_the_source(settings_factory, scenario, send_records, read_topic, topic_factory,
                                                cli):
    settings = settings_factory(partitions=3)
    records = scenario(customers=150, days=3, seed=31)
    send_records(settings.topics.events, records)
    target = topic_factory(partitions=3)
    since, until = START_MS + 1000 * (len(records) // 4), START_MS + 1000 * (3 * len(records) // 4)

    run = cli(settings, "replay", "--since", iso(since), "--until", iso(until), "--to-topic", target)

    source = [r for r in read_topic(settings.topics.events) if since <= r.timestamp < until]
    copied = read_topic(target)
    assert [(r.partition, *fields(r)) for r in copied] == [(r.partition, *fields(r)) for r in source]
    assert any(r.headers for r in copied) and len(copied) > 100
    assert f"republished {len(source)} of {len(source)} records" in run.out


def test_from_the_archive_into_a_topic_of_another_size(settings_factory, scenario, send_records, read_topic,
                                                       topic_factory, cli):
    from cxpulse.processors.replay.ranges import key_partition

    settings = settings_factory(partitions=3)
    records = scenario(customers=100, days=2, seed=32)
    send_records(settings.topics.events, records)
    cli(settings, "archive", "--dir", "arch", "--once")
    target = topic_factory(partitions=5)

    cli(settings, "replay", "--from", "arch", "--to-topic", target)

    copied = read_topic(target)
    assert sorted(fields(r) for r in copied) == sorted(fields(r) for r in read_topic(settings.topics.events))
    assert all(r.partition == key_partition(r.key, 5) for r in copied)
    assert [r.value_bytes() for r in copied if r.key == b"C-binary"] == [b"\xff\xfe\x00"]  # not UTF-8: kept
    for p in range(5):  # each key's records keep their order
        mine = [r for r in copied if r.partition == p]
        assert [r.timestamp for r in mine] == sorted(r.timestamp for r in mine)


def test_one_customer_only(settings_factory, scenario, send_records, read_topic, topic_factory, cli):
    settings = settings_factory(partitions=3)
    records = scenario(customers=80, days=2, seed=33)
    send_records(settings.topics.events, records)
    target = topic_factory(partitions=3)
    customer = records[40].key

    cli(settings, "replay", "--customer", customer.decode(), "--to-topic", target)

    assert [fields(r) for r in read_topic(target)] == [fields(r) for r in read_topic(settings.topics.events)
                                                       if r.key == customer]
