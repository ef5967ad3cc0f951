"""Fixtures shared by every test.

A real Apache Kafka broker is started once per session, and only when a test asks for
one (unit tests never do). It is, in this order: ``$KAFKA_BOOTSTRAP_SERVERS`` when set;
else a ``apache/kafka`` container through testcontainers when a Docker engine answers;
else the local rig (``cxpulse.broker.LocalBroker``) on free ports with a temporary data
directory and the shared jar cache (``broker.cache_dir``, outside the repository).
Tests under ``tests/integration`` and ``tests/e2e`` get the ``kafka`` marker
automatically; ``pytest -m "not kafka"`` runs without any broker.

Broker (session scope):
    kafka_bootstrap      "host:port" of the test broker.
    kafka_settings       ``KafkaSettings`` pointing at it.

Secured broker (session scope, started only by the tests that ask for it):
    secure_kafka         ``SecureKafka``: a second local-rig broker whose only client
                         listener is SASL_SSL (SCRAM-SHA-512, throwaway CA). ``.settings``
                         are client ``KafkaSettings`` that get in; ``.security`` is the
                         ``RigSecurity`` (CA file, users); ``.bootstrap_servers``;
                         ``.controller_port``; ``.command_lines``: every process's
                         argv seen while it was formatted and started.
    event_corpus         The bad-input corpus (``tests/corpus``): a list of ``CorpusCase``
                         (name, raw bytes, valid, field, duplicate_of), for pushing through
                         the gateway or straight into Kafka.

    openapi_check        ``openapi_check(document, method, path, status, headers, body)``:
                         fails unless the answer (status, content type, documented
                         headers, JSON body) is what the OpenAPI document says.

Factories and helpers (function scope):
    settings_factory(partitions=3, **sections) -> Settings
        A full ``Settings`` at the test broker with fresh random topic names
        (events/alerts/scores/dlq, created with ``partitions``; scores compacted), a
        random ``worker.app_id`` and a free ``worker.web_port``. ``sections`` override
        whole sections or some of their fields: ``settings_factory(engine={...})``.
    config_file_factory(settings) -> Path
        Writes ``settings`` as a TOML file, for ``cxpulse --config FILE`` subprocesses.
    topic_factory(partitions=1, configs=None, prefix="t") -> str
        Creates a topic with a random name and waits until it has leaders.
    produce(topic, records) -> None
        Sends ``(key, value)`` pairs (str or bytes, key may be None) and flushes; a
        failed delivery raises.
    consume(topic, count=None, timeout=30.0) -> list[ConsumerRecord]
        Reads the topic from the beginning (no consumer group) until ``count`` records
        arrived or ``timeout`` passed; with ``count=None``, everything up to the end
        offsets at call time. Returns what it got: assert on it.
    wait_for(predicate, timeout=30.0, interval=0.05, message=None) -> value
        Polls ``predicate()`` until it returns something truthy and returns it; fails
        the test when the deadline passes. Use it instead of ``sleep``.
    unique_name(prefix="t") -> str
        A random name for a topic, consumer group or app id.
    free_port() -> int
        A TCP port on 127.0.0.1 that nothing listens on right now.
"""

import json
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cxpulse.settings import KafkaSettings, Settings, TopicSettings

_INTEGRATION_DIRS = ("integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).parent
    for item in items:
        parts = Path(item.path).relative_to(tests_root).parts if Path(item.path).is_relative_to(tests_root) else ()
        if parts and parts[0] in _INTEGRATION_DIRS:
            item.add_marker(pytest.mark.kafka)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Each phase's report on the item (``item.rep_call`` ...), for fixtures that explain a failure at teardown."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- helpers -----------------------------------------------------------------------


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_HANDED_OUT: set[int] = set()


def _free_port() -> int:
    """A port free on 127.0.0.1 now, below the kernel's ephemeral range: a port the kernel picks
    for ``bind(0)`` is ephemeral, and the source port of any client connection made before the
    server binds it can take it (a worker then found "its" web port in use)."""
    low, high = _ephemeral_range()
    rng = random.Random()
    candidates = range(20000, low) if low > 21000 else range(high + 1, 65535)
    worker, workers = _xdist_worker()
    if workers > 1:  # pytest -n N: each worker process draws from its own share, so two never hand out one port
        candidates = range(candidates.start + worker, candidates.stop, workers)
    for _ in range(200):
        port = rng.choice(candidates)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port found below the ephemeral range")


def _xdist_worker() -> tuple[int, int]:
    """(index, count) of this pytest-xdist worker process; (0, 1) when the session runs in one process."""
    name, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    if not name.startswith("gw") or not name[2:].isdigit() or not count.isdigit():
        return 0, 1
    return int(name[2:]), max(int(count), 1)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, message: str | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"condition not met within {timeout:g} s: {message or getattr(predicate, '__name__', predicate)}")
        time.sleep(interval)


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, timeout=30.0, interval=0.05, message=None)``: poll until truthy."""
    return _wait_for


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()``: a TCP port on 127.0.0.1 that nothing listens on right now."""
    return _free_port


@pytest.fixture
def unique_name() -> Callable[..., str]:
    """``unique_name(prefix="t")``: a random name for a topic, group or app id."""
    return _unique


# --- the broker --------------------------------------------------------------------


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no client library, no socket, no engine: all mean "no Docker"
        return False


def _container_broker(version: str) -> Iterator[str]:
    """The official image, configured like docker-compose.yml, on a free host port."""
    from testcontainers.core.container import DockerContainer

    from cxpulse.broker import broker_answers

    port = _free_port()
    container = DockerContainer(f"apache/kafka:{version}").with_bind_ports(port, port)
    for key, value in {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }.items():
        container.with_env(key, value)
    with container:
        address = f"127.0.0.1:{port}"
        _wait_for(lambda: broker_answers(address, 5.0), timeout=120, message=f"Kafka container at {address}")
        yield address


def _local_broker(data_dir: Path) -> Iterator[str]:
    from cxpulse.broker import LocalBroker
    from cxpulse.errors import BrokerError
    from cxpulse.settings import load_settings

    base = load_settings().broker  # honours a configured jar cache
    for attempt in range(3):  # a free port can be taken between probing and binding
        settings = base.model_copy(
            update={"port": _free_port(), "controller_port": _free_port(), "data_dir": data_dir / f"kafka{attempt}"}
        )
        broker = LocalBroker(settings)
        try:
            started = broker.start(stop_with=os.getpid())  # a killed session leaves no broker behind
            break
        except BrokerError as exc:
            if "is in use" not in str(exc) or attempt == 2:
                raise
    try:
        yield started.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of the session's real broker (see the module docstring for which)."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
    elif _docker_answers():
        yield from _container_broker(Settings().broker.kafka_version)
    else:
        yield from _local_broker(tmp_path_factory.mktemp("broker"))


@dataclass(frozen=True)
class SecureKafka:
    """The secured test broker: its address, client settings that get in, and its TLS/SCRAM material."""

    bootstrap_servers: str
    settings: KafkaSettings
    security: Any  # cxpulse.broker_security.RigSecurity
    controller_port: int = 0
    command_lines: frozenset[bytes] = frozenset()  # every process's argv seen while it was formatted and started


def _watch_command_lines(seen: set[bytes], stop: Any) -> None:
    """Every process's argv as ``ps`` shows it to any local user (``/proc/*/cmdline``), until ``stop`` is set."""
    while not stop.is_set():
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                seen.add(cmdline.read_bytes())
            except OSError:
                pass
        stop.wait(0.02)


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A local-rig broker with only a SASL_SSL client listener (see ``cxpulse kafka up --secure``)."""
    import threading

    from cxpulse.broker import LocalBroker
    from cxpulse.broker_security import load_security
    from cxpulse.settings import load_settings

    base, data_dir = load_settings().broker, tmp_path_factory.mktemp("secure-broker")
    settings = base.model_copy(update={"port": _free_port(), "controller_port": _free_port(), "data_dir": data_dir})
    broker = LocalBroker(settings, secure=True)
    seen: set[bytes] = set()
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_command_lines, args=(seen, stop), daemon=True)
    watcher.start()
    try:
        started = broker.start()
    finally:
        stop.set()
        watcher.join(10)
    try:
        client = broker.client_settings("cxpulse-tests")
        yield SecureKafka(started.bootstrap_servers, client, load_security(broker.security_dir),
                          settings.controller_port, frozenset(seen))  # fmt: skip
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def event_corpus() -> list:
    """The bad-input corpus in ``tests/corpus`` as ``CorpusCase`` objects (see its README)."""
    import importlib.util

    path = Path(__file__).parent / "corpus" / "loader.py"
    spec = importlib.util.spec_from_file_location("cxpulse_test_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_corpus()


@pytest.fixture(scope="session")
def openapi_check() -> Callable[..., None]:
    """Check one HTTP answer against an OpenAPI 3.1 document (see the module docstring)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    def check(document: dict, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        responses = document["paths"][path][method.lower()]["responses"]
        documented = responses.get(str(status))
        assert documented is not None, f"{method} {path} answered {status}, which the OpenAPI document does not list"
        lower = {name.lower(): value for name, value in headers.items()}
        for name in documented.get("headers", {}):
            assert name.lower() in lower, f"{status} answer lacks the documented {name} header"
        media = lower.get("content-type", "").split(";")[0].strip()
        assert media in documented["content"], f"{status} answer is {media!r}, documented {list(documented['content'])}"
        if media == "application/json":
            uri = "urn:cxpulse:openapi"
            registry = Registry().with_resource(uri, Resource.from_contents(document, default_specification=DRAFT202012))
            schema = documented["content"][media]["schema"]
            if "$ref" in schema:
                schema = {"$ref": uri + schema["$ref"]}
            Draft202012Validator(schema, registry=registry).validate(json.loads(body))

    return check


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """``KafkaSettings`` at the test broker (plaintext)."""
    return KafkaSettings(bootstrap_servers=kafka_bootstrap, client_id="cxpulse-tests")


# --- factories ---------------------------------------------------------------------


@pytest.fixture
def topic_factory(kafka_settings: KafkaSettings) -> Callable[..., str]:
    """``topic_factory(partitions=1, configs=None, prefix="t") -> name``: a new random topic."""
    from cxpulse.topics import TopicSpec, ensure_topics

    def create(partitions: int = 1, configs: dict[str, str] | None = None, prefix: str = "t") -> str:
        name = _unique(prefix)
        ensure_topics(kafka_settings, [TopicSpec(name, partitions, 1, dict(configs or {}))])
        return name

    return create


@pytest.fixture
def settings_factory(kafka_settings: KafkaSettings, tmp_path: Path) -> Callable[..., Settings]:
    """``settings_factory(partitions=3, **sections) -> Settings`` with fresh topics at the test broker."""
    from cxpulse.topics import ensure_topics, topic_specs

    def build(partitions: int = 3, **sections: Any) -> Settings:
        run = uuid.uuid4().hex[:12]
        topics = TopicSettings(
            events=f"cx-{run}.events",
            alerts=f"cx-{run}.alerts",
            scores=f"cx-{run}.scores",
            dlq=f"cx-{run}.events.dlq",
            warnings=f"cx-{run}.agent-warnings",
            partitions=partitions,
            replication_factor=1,
        )
        data: dict[str, Any] = {"kafka": kafka_settings.model_dump(), "topics": topics.model_dump()}
        data["worker"] = _worker_defaults(run, tmp_path / f"worker-{run}")
        for name, value in sections.items():
            value = value.model_dump() if hasattr(value, "model_dump") else value
            merged = {**data.get(name, {}), **value} if isinstance(value, dict) else value
            data[name] = merged
        settings = Settings(**data)
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        return settings

    return build


def _worker_defaults(run: str, data_dir: Path) -> dict[str, Any]:
    """Per-test worker identity, for whichever of these fields ``WorkerSettings`` has."""
    from cxpulse.processors.worker.settings import WorkerSettings

    wanted = {"app_id": f"cxpulse-test-{run}", "web_port": _free_port(), "data_dir": str(data_dir)}
    return {key: value for key, value in wanted.items() if key in WorkerSettings.model_fields}


@pytest.fixture
def config_file_factory(tmp_path: Path) -> Callable[[Settings], Path]:
    """``config_file_factory(settings) -> Path``: the settings as a TOML file."""

    def write(settings: Settings) -> Path:
        path = tmp_path / f"cxpulse-{uuid.uuid4().hex[:8]}.toml"
        path.write_text(_toml(settings.model_dump(exclude_none=True)), encoding="utf-8")
        return path

    return write


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"[{prefix}]"] if prefix and scalars else []
    lines += [f"{key} = {_toml_value(value)}" for key, value in scalars.items()]
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, table in tables.items():
        text += _toml(table, f"{prefix}.{key}" if prefix else key)
    return text


def _toml_value(value: Any) -> str:
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table, e.g. one of [gateway] tokens
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    return json.dumps(value)  # JSON strings, numbers and booleans are valid TOML


@pytest.fixture
def produce(kafka_settings: KafkaSettings) -> Iterator[Callable[..., None]]:
    """``produce(topic, records)``: send ``(key, value)`` pairs and flush; failures raise."""
    from kafka import KafkaProducer

    from cxpulse.clients import kafka_python_config

    producer = KafkaProducer(**kafka_python_config(kafka_settings), acks="all")

    def send(topic: str, records: Iterable[tuple[bytes | str | None, bytes | str]]) -> None:
        futures = [producer.send(topic, key=_bytes(key), value=_bytes(value)) for key, value in records]
        producer.flush()
        for future in futures:
            future.get(timeout=30)

    yield send
    producer.close()


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


@pytest.fixture
def consume(kafka_settings: KafkaSettings) -> Callable[..., list]:
    """``consume(topic, count=None, timeout=30.0)``: records from the beginning of ``topic``."""
    from kafka import KafkaConsumer, TopicPartition

    from cxpulse.clients import kafka_python_config

    def read(topic: str, count: int | None = None, timeout: float = 30.0) -> list:
        consumer = KafkaConsumer(**kafka_python_config(kafka_settings), group_id=None, enable_auto_commit=False)
        try:
            partitions = _wait_for(lambda: consumer.partitions_for_topic(topic), timeout, message=f"topic {topic}")
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            ends = consumer.end_offsets(assigned) if count is None else None
            return _read_until(consumer, count, ends, time.monotonic() + timeout)
        finally:
            consumer.close()

    return read


def _read_until(consumer: Any, count: int | None, ends: dict | None, deadline: float) -> list:
    records: list = []
    while time.monotonic() < deadline:
        if count is not None and len(records) >= count:
            break
        if ends is not None and all(consumer.position(tp) >= end for tp, end in ends.items()):
            break
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records
