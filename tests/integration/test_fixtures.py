"""The shared fixtures of tests/conftest.py work against the session's real broker."""

from cxpulse.settings import load_settings
from cxpulse.topics import list_topics


def test_produced_records_are_consumed_in_order_with_their_keys(topic_factory, produce, consume):
    topic = topic_factory(partitions=1)
    produce(topic, [("c1", b"one"), ("c1", "two"), (None, b"three")])

    records = consume(topic, count=3)

    assert [(r.key, r.value) for r in records] == [(b"c1", b"one"), (b"c1", b"two"), (None, b"three")]


def test_consume_without_count_reads_up_to_the_end(topic_factory, produce, consume):
    topic = topic_factory(partitions=3)
    produce(topic, [(f"k{i}", f"v{i}") for i in range(30)])

    records = consume(topic)

    assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(30))


def test_consume_of_an_empty_topic_returns_nothing(topic_factory, consume):
    assert consume(topic_factory()) == []


def test_settings_factory_creates_its_topics(settings_factory, kafka_settings):
    settings = settings_factory(partitions=2)

    topics = {info.name: info for info in list_topics(kafka_settings)}

    names = [settings.topics.events, settings.topics.alerts, settings.topics.scores, settings.topics.dlq]
    assert all(topics[name].partitions == 2 for name in names)
    assert topics[settings.topics.scores].cleanup_policy == "compact"
    assert settings.kafka.bootstrap_servers == kafka_settings.bootstrap_servers
    assert settings_factory().topics.events != settings.topics.events


def test_settings_factory_overrides_sections(settings_factory):
    settings = settings_factory(partitions=1, validation={"max_future_seconds": 60}, engine=settings_factory().engine)

    assert settings.validation.max_future_seconds == 60


def test_config_file_factory_round_trips_through_load_settings(settings_factory, config_file_factory, monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = settings_factory(partitions=1)

    loaded = load_settings(config_file_factory(settings))

    assert loaded == settings


def test_wait_for_returns_the_truthy_value(wait_for):
    calls = iter([0, None, "ready"])

    assert wait_for(lambda: next(calls), timeout=5, interval=0) == "ready"
