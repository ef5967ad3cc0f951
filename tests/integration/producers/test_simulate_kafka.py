import orjson

from cxpulse.schemas import parse_event

ANCHOR = "2025-03-14T18:00:00Z"


def test_simulated_events_arrive_complete_keyed_by_customer_and_valid(
    settings_factory, config_file_factory, consume, cxpulse, event_schema, tmp_path
):
    settings = settings_factory(partitions=3)
    config = config_file_factory(settings)
    args = ["simulate", "--anchor", ANCHOR, "--customers", "400", "--seed", "21"]
    code, out, err = cxpulse("--config", config, *args, "--ground-truth", tmp_path / "truth.json")
    assert code == 0, err
    truth = orjson.loads((tmp_path / "truth.json").read_bytes())
    expected = truth["emitted"]["events"]
    assert f"{expected:,} acknowledged by {settings.topics.events}, 0 failed" in out.decode()

    records = consume(settings.topics.events, count=expected, timeout=60)
    assert len(records) == expected
    assert consume(settings.topics.events, count=None) and len(consume(settings.topics.events)) == expected  # nothing more
    for record in records:
        value = orjson.loads(record.value)
        event_schema.validate(value)
        event = parse_event(record.value)
        assert record.key == event.customer_id.encode()

    # the same run as a dry run: exactly these events, and each customer's in event-time order per partition
    code, dry, _ = cxpulse("--config", config, *args, "--dry-run")
    assert code == 0
    assert sorted(r.value for r in records) == sorted(dry.splitlines())
    by_partition: dict[int, list] = {}
    for record in records:
        by_partition.setdefault(record.partition, []).append(parse_event(record.value).occurred_at)
    assert all(times == sorted(times) for times in by_partition.values())


def test_count_produces_exactly_that_many(settings_factory, config_file_factory, consume, cxpulse):
    settings = settings_factory(partitions=1)
    code, _, err = cxpulse("--config", config_file_factory(settings), "simulate", "--anchor", ANCHOR, "--count", "137")
    assert code == 0, err
    assert len(consume(settings.topics.events, count=200, timeout=10)) == 137


def test_a_missing_topic_is_an_error_not_auto_created(settings_factory, config_file_factory, cxpulse, kafka_settings):
    from cxpulse.topics import admin_client

    settings = settings_factory(partitions=1)
    code, out, err = cxpulse("--config", config_file_factory(settings), "simulate", "--topic", "no-such-topic-x1", "--count", "5")
    assert code == 1 and "topic no-such-topic-x1 does not exist" in err and err.count("\n") == 1
    with admin_client(kafka_settings) as admin:
        assert "no-such-topic-x1" not in admin.list_topics()
