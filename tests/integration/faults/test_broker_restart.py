"""The broker restarts under load: producer and worker ride it out and nothing is lost or counted twice.

This module runs its own local-rig broker (the session's may be shared or external), stops
it while a producer writes at a steady rate and a worker reads, and starts it again on the
same data directory and ports. The ``kafka_settings`` fixture is overridden for the module,
so ``settings_factory``, ``produce`` and ``consume`` all talk to this broker.
"""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from cxpulse.settings import KafkaSettings

from ..worker.helpers import expected_run
from ..worker.scenario import scripted
from .conftest import assert_engine_outcome, outcome, wait_consumed

from ...conftest import _free_port

pytestmark = pytest.mark.timeout(300)


class RestartableBroker:
    """A local-rig broker on fixed ports and a fixed data directory, which can be stopped and started."""

    def __init__(self, data_dir: Path) -> None:
        from cxpulse.broker import LocalBroker
        from cxpulse.settings import load_settings

        settings = load_settings().broker.model_copy(
            update={"port": _free_port(), "controller_port": _free_port(), "data_dir": data_dir})
        self.broker = LocalBroker(settings)
        self.bootstrap_servers = self.broker.bootstrap_servers
        self.outages: list[float] = []

    def start(self) -> None:
        self.broker.start(stop_with=os.getpid())  # a killed test session leaves no broker behind

    def restart(self) -> None:
        """Stop (SIGTERM: a controlled shutdown), then start again on the same data; records the outage."""
        began = time.monotonic()
        self.broker.stop()
        self.start()
        self.outages.append(time.monotonic() - began)


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableBroker]:
    broker = RestartableBroker(tmp_path_factory.mktemp("restartable-broker"))
    broker.start()
    try:
        yield broker
    finally:
        broker.broker.stop()


@pytest.fixture(scope="module")
def kafka_settings(restartable: RestartableBroker) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=restartable.bootstrap_servers, client_id="cxpulse-tests")


class PacedProducer(threading.Thread):
    """Sends records at ``rate`` per second in small chunks; a chunk that fails is sent again
    (a retried chunk may land twice: duplicates are part of at-least-once delivery)."""

    def __init__(self, kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]], rate: float,
                 chunk: int = 50) -> None:
        super().__init__(daemon=True)
        self.kafka, self.topic, self.records, self.rate, self.chunk = kafka, topic, records, rate, chunk
        self.sent = 0
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from kafka import KafkaProducer

        from cxpulse.clients import kafka_python_config

        producer = KafkaProducer(**kafka_python_config(self.kafka), acks="all", request_timeout_ms=5000,
                                 max_block_ms=5000, reconnect_backoff_max_ms=1000, linger_ms=5)
        started = time.monotonic()
        try:
            for start in range(0, len(self.records), self.chunk):
                pause = started + start / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # pacing the load, not waiting for a condition
                self._send(producer, self.records[start:start + self.chunk])
                self.sent = start + self.chunk
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            producer.close(timeout=10)

    def _send(self, producer, chunk: list[tuple[bytes, bytes]]) -> None:
        from kafka.errors import KafkaError

        deadline = time.monotonic() + 120
        while True:
            try:
                for future in [producer.send(self.topic, key=k, value=v) for k, v in chunk]:
                    future.get(timeout=10)
                return
            except KafkaError:
                self.retries += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # back off while the broker is away


def test_the_broker_restarts_under_load_and_the_pipeline_resumes_by_itself(
        restartable, settings_factory, consume, worker_factory, wait_for):
    settings = settings_factory(partitions=3, worker={"session_timeout_seconds": 10.0})
    records = scripted(background_customers=300, background_events=9_000, seed=13).records()
    worker = worker_factory(settings)
    producer = PacedProducer(settings.kafka, settings.topics.events, records, rate=600)
    producer.start()
    wait_for(lambda: (worker.health() or {}).get("events", 0) >= len(records) // 4, timeout=120,
             message="a quarter of the stream processed")

    _restart_under_load(restartable, producer, wait_for, settings, worker, join_timeout=180)

    assert worker.process.poll() is None, "the worker stopped"  # it rode the outage out, no restart
    errors = [line for line in worker.log_path.read_text(errors="replace").splitlines() if "[ERROR]" in line]
    assert len(errors) < 100, f"{len(errors)} ERROR lines: the client libraries' retries are not throttled"
    on_topic = {orjson.loads(r.value)["event_id"] for r in consume(settings.topics.events)}
    assert on_topic == {orjson.loads(v)["event_id"] for _, v in records}  # nothing the producer sent was lost
    assert_engine_outcome(outcome(consume, settings), expected_run(settings, records))
    print(f"broker outage {restartable.outages[0]:.1f} s; producer retries {producer.retries}")


def _restart_under_load(restartable, producer, wait_for, settings, worker, join_timeout: float) -> None:
    """Restart the broker while ``producer`` is still sending, then wait until it has sent everything
    and ``worker`` has consumed it."""
    assert producer.is_alive(), f"the load ended before the restart ({producer.sent} records sent)"
    restartable.restart()
    producer.join(timeout=join_timeout)
    assert producer.error is None and not producer.is_alive(), producer.error
    wait_consumed(wait_for, settings, workers=[worker])


def _with_outage_burst(seed: int) -> tuple[list[tuple[bytes, bytes]], int]:
    """A calm stream with an outage burst (40 customers on ``outage`` within 7 minutes of event
    time) in its middle; returns the records and the index of the burst's first record."""
    import random

    from ..worker.scenario import Scenario

    stream = scripted(background_customers=200, background_events=1_600, seed=seed)
    burst = Scenario()
    rng = random.Random(seed)
    start = 2 * 86400 + rng.uniform(0, 3600)
    for n in range(40):
        burst.call(f"burst-{seed}-{n:02d}", start + n * 10, "outage", outcome="unresolved")
    for n, event in enumerate(burst.events):
        event["event_id"] = f"burst-{seed}-{n:02d}"
    events = sorted(stream.events + burst.events, key=lambda e: e["occurred_at"])
    first = min(i for i, e in enumerate(events) if e["service_type"] == "outage" and e["customer_id"].startswith("burst"))
    return [(e["customer_id"].encode(), orjson.dumps(e)) for e in events], first


@pytest.mark.parametrize("seed", [41, 42])
def test_an_outage_burst_in_flight_across_a_broker_restart_raises_its_incident(
        restartable, settings_factory, consume, worker_factory, wait_for, seed):
    """Issue 14.9: the incident of a burst read around a broker restart was never raised live
    (the incident watermark had remembered +inf). Live and the pure engine must agree."""
    settings = settings_factory(partitions=3, worker={"session_timeout_seconds": 10.0})
    records, burst_at = _with_outage_burst(seed)
    worker = worker_factory(settings)
    producer = PacedProducer(settings.kafka, settings.topics.events, records, rate=400, chunk=20)
    producer.start()
    wait_for(lambda: producer.sent >= burst_at + 10 or not producer.is_alive(), timeout=60,
             message="the burst is being produced")
    _restart_under_load(restartable, producer, wait_for, settings, worker, join_timeout=120)

    expected = expected_run(settings, records)
    burst = {a.alert_id for a in expected.alerts
             if a.rule == "incident" and any(e.startswith(f"burst-{seed}-") for e in a.evidence)}
    assert len(burst) == 1  # the burst's incident (emitted again with its id as its count grew)
    got = outcome(consume, settings)
    assert_engine_outcome(got, expected)
    assert {(alert_id, "firing") for alert_id in burst} <= got.alerts
    print(f"seed {seed}: broker outage {restartable.outages[-1]:.1f} s; producer retries {producer.retries}")
