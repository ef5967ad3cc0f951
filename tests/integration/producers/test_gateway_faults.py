"""The gateway when Kafka is missing or goes away: 503, never a silent accept, and it recovers."""

import time
import uuid

import orjson
import pytest

from cxpulse.broker import LocalBroker
from cxpulse.producers.settings import GatewaySettings
from cxpulse.settings import KafkaSettings, Settings, TopicSettings, load_settings
from cxpulse.topics import ensure_topics, topic_specs

from ...conftest import _free_port


def _call(event_id: str) -> dict:
    return {
        "event_id": event_id, "event_type": "call", "customer_id": "C-500001", "occurred_at": "2024-05-01T10:00:00Z",
        "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 1.0,
        "talk_seconds": 2.0, "outcome": "resolved",
    }  # fmt: skip


def test_without_kafka_valid_events_get_503_and_invalid_ones_are_still_rejected(gateway_factory):
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{_free_port()}"),
                        gateway=GatewaySettings(delivery_timeout_seconds=3))  # fmt: skip
    gateway = gateway_factory(settings)

    valid = gateway.post([_call("d-1"), _call("d-2")])
    invalid = gateway.post({"event_type": "call"})

    assert valid.status == 503 and valid.headers["retry-after"] == "5"
    assert valid.json()["error"] == "unavailable"
    assert invalid.status == 202 and invalid.json()["rejected"] == 1
    assert gateway.get("/healthz").json() == {"status": "unavailable", "kafka": "unreachable"}
    metrics = gateway.get("/metrics").body.decode()
    assert "cxpulse_gateway_kafka_ready 0.0" in metrics
    assert 'cxpulse_gateway_events_total{outcome="accepted"} 0.0' in metrics


@pytest.fixture
def private_broker(tmp_path):
    """A broker of this test's own, so that the test may stop and restart it."""
    base = load_settings().broker
    broker = LocalBroker(base.model_copy(update={
        "port": _free_port(), "controller_port": _free_port(), "data_dir": tmp_path / "broker"}))  # fmt: skip
    broker.start()
    yield broker
    broker.stop()


def _gateway_on(broker, gateway_factory, wait_healthy, gateway_settings: GatewaySettings):
    """A healthy gateway on ``broker`` with fresh one-partition topics; ``(gateway, settings)``."""
    run = uuid.uuid4().hex[:8]
    topics = TopicSettings(events=f"f-{run}.events", alerts=f"f-{run}.alerts", scores=f"f-{run}.scores",
                           dlq=f"f-{run}.dlq", partitions=1)  # fmt: skip
    settings = Settings(kafka=broker.client_settings("cxpulse-tests"), topics=topics, gateway=gateway_settings)
    ensure_topics(settings.kafka, topic_specs(topics))
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    return gateway, settings


def test_a_broker_that_stops_gets_503s_and_the_gateway_resumes_when_it_returns(
    private_broker, gateway_factory, wait_healthy, wait_for
):
    gateway, settings = _gateway_on(private_broker, gateway_factory, wait_healthy,
                                    GatewaySettings(delivery_timeout_seconds=4, health_timeout_seconds=2))
    answered: dict[str, int] = {}

    def post(event_id: str) -> int:
        answered[event_id] = gateway.post(_call(event_id)).status
        return answered[event_id]

    assert post("before-1") == 202
    private_broker.stop()
    assert post("during-1") == 503
    assert gateway.get("/healthz").status == 503
    private_broker.start()
    attempt = iter(range(10_000))
    wait_for(lambda: post(f"after-{next(attempt)}") == 202, timeout=120, interval=0.5, message="a 202 after the restart")

    assert set(answered.values()) <= {202, 503}
    accepted = {event_id for event_id, status in answered.items() if status == 202}
    written = _event_ids(settings.kafka, settings.topics.events)
    assert accepted <= written  # nothing accepted without being in the log


def _event_ids(kafka: KafkaSettings, topic: str) -> set[str]:
    from kafka import KafkaConsumer, TopicPartition

    from cxpulse.clients import kafka_python_config

    consumer = KafkaConsumer(**kafka_python_config(kafka), group_id=None, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        ids: list[str] = []
        deadline = time.monotonic() + 60
        while consumer.position(partition) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                ids.extend(orjson.loads(record.value)["event_id"] for record in records)
        return set(ids)
    finally:
        consumer.close()


def test_sigterm_lets_a_request_in_flight_finish_before_exiting(private_broker, gateway_factory, wait_healthy, wait_for):
    import threading

    gateway, settings = _gateway_on(private_broker, gateway_factory, wait_healthy,
                                    GatewaySettings(delivery_timeout_seconds=6, shutdown_timeout_seconds=30))
    private_broker.stop()  # the next delivery waits for its acknowledgement until the timeout
    answers: list = []
    sender = threading.Thread(target=lambda: answers.append(gateway.post(_call("inflight-1"))))
    sender.start()

    def in_flight() -> bool:
        return "cxpulse_gateway_requests_in_flight 1.0" in gateway.get("/metrics").body.decode()

    wait_for(in_flight, timeout=30, message="the request is in flight")
    gateway.process.send_signal(__import__("signal").SIGTERM)
    sender.join(timeout=60)

    assert [answer.status for answer in answers] == [503]  # answered, not cut off
    gateway.process.wait(timeout=90)  # it exits by itself: the producer's close is bounded too
    assert gateway.process.returncode == 0
    logs = gateway.logs()
    assert "ingest gateway stopped" in logs
    assert logs.count("Unable connect to node") <= 10  # aiokafka's retry errors are throttled
