"""Fixtures for the replay and archive integration tests (a real broker, the real CLI).

    cli(settings, *args, check=True) -> Completed
        Runs ``cxpulse --config FILE *args`` as a subprocess; ``.code``, ``.out``, ``.err``.
    start_cli(settings, *args) -> subprocess.Popen
        The same, left running (stopped at teardown).
    send_records(topic, records) -> None
        Produces :class:`SourceRecord`\\ s with their key, value, headers, timestamp and (when
        given) partition; every delivery is confirmed.
    read_topic(topic) -> list[SourceRecord]
        Everything on the topic now, per partition in offset order.
    scenario(customers=300, days=5, seed=3, partitions=3) -> list[SourceRecord]
        A simulated week, plus duplicates, invalid records and headers, as records of a
        topic with ``partitions`` (stamped one second apart from ``START_MS``).
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.replay.ranges import key_partition
from cxpulse.producers.simulator import Simulation, SimulationConfig
from cxpulse.settings import KafkaSettings, Settings

# The worker processes of the processor tests (test_live_worker.py runs one live).
from ..worker.conftest import worker_factory  # noqa: F401 - a fixture, used by name

# Records are stamped from a day ago (one second apart): Kafka's time-based retention
# (7 days by default) deletes records by their timestamp, so stamps from the simulated
# week itself would be deleted under the tests' feet. Events occurred before: all valid.
START_MS = (int(time.time()) - 86400) * 1000
ANCHOR = "2025-03-10T00:00:00+00:00"


@dataclass
class Completed:
    code: int
    out: str
    err: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def cli(config_file_factory: Callable[[Settings], Path], tmp_path: Path) -> Callable[..., Completed]:
    def run(settings: Settings, *args: str, check: bool = True, timeout: float = 240) -> Completed:
        config = config_file_factory(settings)
        done = subprocess.run([sys.executable, "-c", "from cxpulse.cli import main; main()", "--config", str(config),
                               *args], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=timeout)
        result = Completed(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"cxpulse {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n{done.stdout}")
        return result

    return run


@pytest.fixture
def start_cli(config_file_factory: Callable[[Settings], Path], tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(settings: Settings, *args: str) -> subprocess.Popen:
        config = config_file_factory(settings)
        process = subprocess.Popen([sys.executable, "-c", "from cxpulse.cli import main; main()", "--config",
                                    str(config), *args], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


@pytest.fixture
def send_records(kafka_settings: KafkaSettings) -> Iterator[Callable[[str, list[SourceRecord]], None]]:
    from kafka import KafkaProducer

    from cxpulse.clients import kafka_python_config

    producer = KafkaProducer(**kafka_python_config(kafka_settings), acks="all", linger_ms=5)

    def send(topic: str, records: list[SourceRecord]) -> None:
        futures = [producer.send(topic, key=r.key, value=r.value_bytes(), headers=list(r.headers),
                                 timestamp_ms=r.timestamp, partition=r.partition) for r in records]
        producer.flush()
        for future in futures:
            future.get(timeout=30)

    yield send
    producer.close()


@pytest.fixture
def read_topic(consume: Callable[..., list]) -> Callable[[str], list[SourceRecord]]:
    def read(topic: str) -> list[SourceRecord]:
        records = [SourceRecord.from_consumer(r) for r in consume(topic)]
        return sorted(records, key=lambda r: (r.partition, r.offset))

    return read


def simulated(customers: int, days: float, seed: int, **config) -> list[bytes]:
    from datetime import datetime

    sim = Simulation(SimulationConfig(anchor=datetime.fromisoformat(ANCHOR), seed=seed, customers=customers,
                                      days=days, **config))
    return [orjson.dumps(event) for event in sim.events()]


def as_records(values: list, partitions: int) -> list[SourceRecord]:
    """Values (or (key, value, headers) triples) as records stamped 1 s apart, keyed by customer."""
    records = []
    for i, item in enumerate(values):
        key, value, headers = item if isinstance(item, tuple) else (_key(item), item, ())
        partition = key_partition(key, partitions) if key is not None else i % partitions
        records.append(SourceRecord(partition, None, START_MS + i * 1000, key, value, tuple(headers)))
    return records


def _key(value: bytes) -> bytes | None:
    try:
        return orjson.loads(value)["customer_id"].encode()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


@pytest.fixture
def scenario() -> Callable[..., list[SourceRecord]]:
    def build(customers: int = 300, days: float = 5, seed: int = 3, partitions: int = 3, **config) -> list:
        values: list = simulated(customers, days, seed, **config)
        rng = random.Random(seed)
        for _ in range(25):  # retries: the same event again
            i = rng.randrange(len(values) - 20)
            values.insert(i + rng.randrange(1, 20), values[i])
        for n in range(10):  # not events
            values.insert(rng.randrange(len(values)), (b"C-broken", b'{"event_id": "cut-%d' % n, ()))
        values.insert(rng.randrange(len(values)), (b"C-binary", b"\xff\xfe\x00", (("trace", b"\x01\x02"),)))
        for i in rng.sample(range(len(values)), 30):  # some producers add headers
            if not isinstance(values[i], tuple):
                values[i] = (_key(values[i]), values[i], (("source", b"crm"), ("trace-id", b"%d" % i)))
        return as_records(values, partitions)

    return build
