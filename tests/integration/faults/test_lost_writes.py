"""Writes the broker rejects: nothing is committed past them, the worker stops loudly, a restart completes the state.

Fault injection on the real broker: a topic the worker writes (the customers' changelog,
the alerts, the scores) has its ``max.message.bytes`` lowered below any record while the
worker runs, so the broker rejects every batch for it (``MessageSizeTooLargeError``).
The worker must send the batch again (``worker.write_retries``), then stop with a non-zero
exit status and a one-line reason, never commit the offsets of the events whose writes
were lost; with the limit restored, a restarted worker ends exactly as the pure engine,
and the state it restored from the changelog is every customer's complete state.
"""

import orjson
import pytest

from cxpulse.topics import admin_client

from ..worker.helpers import committed_total, expected_run
from ..worker.scenario import scripted
from .conftest import assert_engine_outcome, outcome, wait_consumed

pytestmark = pytest.mark.timeout(240)

WORKER = {"commit_interval_seconds": 0.2, "write_retries": 2, "write_retry_backoff_seconds": 0.2,
          "session_timeout_seconds": 10.0}


def _set_limit(settings, topic: str, limit: int) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    with admin_client(settings.kafka) as admin:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})])


def _target(settings, which: str) -> tuple[str, int]:
    """The topic and the limit to restore."""
    if which == "changelog":
        return f"{settings.worker.app_id}-customer_to_state-changelog", settings.worker.changelog_max_message_bytes
    return getattr(settings.topics, which), 1_048_588


@pytest.mark.parametrize("which", ["changelog", "alerts", "scores"])
def test_a_write_the_broker_rejects_is_never_committed_past_and_a_restart_completes_the_state(
        which, settings_factory, produce, consume, worker_factory, wait_for):
    settings = settings_factory(partitions=2, worker=WORKER)
    records = scripted(background_customers=150, background_events=2_400, seed=5).records()
    half = len(records) // 2
    produce(settings.topics.events, records[:half])
    first = worker_factory(settings)
    wait_consumed(wait_for, settings, workers=[first])
    committed_before = committed_total(settings, settings.topics.events)
    assert committed_before == half

    topic, limit = _target(settings, which)
    _set_limit(settings, topic, 64)  # below any record: every batch for the topic is rejected
    produce(settings.topics.events, records[half:])
    wait_for(lambda: first.process.poll() is not None, timeout=90, message="the worker stopped")
    assert first.process.returncode != 0
    log = first.log()
    assert "the worker stopped: WriteFailed" in log and "MessageSizeTooLarge" in log
    reason = next(line for line in log.splitlines() if "the worker stopped: WriteFailed" in line)
    assert topic in reason  # one line, naming what failed
    assert committed_total(settings, settings.topics.events) < len(records)  # not everything: the lost writes' events are not

    _set_limit(settings, topic, limit)
    again = worker_factory(settings)
    wait_consumed(wait_for, settings, workers=[again])
    driver = expected_run(settings, records)
    assert_engine_outcome(outcome(consume, settings), driver)
    for customer_id, state in driver.states.items():  # the state restored from the changelog is complete
        status, body = again.get(f"/customers/{customer_id}")
        assert status == 200, customer_id
        assert body["events_seen"] == state.events_seen, customer_id
        assert body["score"] == pytest.approx(round(driver.engine.snapshot(state).score, 2), abs=0.011), customer_id


def _largest_accepted(settings, topic: str, key: bytes, byte: bytes) -> bytes:
    """The largest value of ``byte`` the broker accepts on ``topic`` (tried down from its max.message.bytes)."""
    from kafka import KafkaProducer
    from kafka.errors import MessageSizeTooLargeError

    from cxpulse.clients import kafka_python_config

    producer = KafkaProducer(**kafka_python_config(settings.kafka), acks="all", max_request_size=4 * 1024 * 1024,
                             retries=0)
    try:
        for size in range(1_048_588 - 61 - len(key), 1_048_588 - 61 - len(key) - 64, -1):
            try:
                producer.send(topic, key=key, value=byte * size).get(timeout=30)
                return byte * size
            except MessageSizeTooLargeError:
                continue
        raise AssertionError("no size near the limit was accepted")
    finally:
        producer.close()


def test_the_largest_record_the_broker_accepts_becomes_a_dead_letter_that_fits(
        settings_factory, consume, worker_factory, wait_for):
    from cxpulse.producers.dlq.letters import raw_bytes
    from cxpulse.schemas import DeadLetter

    settings = settings_factory(partitions=1, worker=WORKER)
    worker = worker_factory(settings)  # creates the topics with their limits
    values = [_largest_accepted(settings, settings.topics.events, b"C-1", byte) for byte in (b"\x01", b'"')]
    letters = consume(settings.topics.dlq, count=2, timeout=60)
    assert len(letters) == 2
    for record, value in zip(letters, values, strict=True):
        letter = DeadLetter.model_validate(orjson.loads(record.value))
        assert raw_bytes(letter) == value and letter.raw_truncated is None
        assert letter.source_topic == settings.topics.events and letter.key == "C-1"
    assert worker.health()["invalid"] == 2  # and the worker is still up
