"""The secured broker (SASL_SSL, SCRAM-SHA-512): who gets in, and every cxpulse client does.

The broker comes from the ``secure_kafka`` fixture: the local rig started with
``secure=True``; its only client listener is SASL_SSL.
"""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from cxpulse.clients import aiokafka_config, kafka_python_config
from cxpulse.settings import KafkaSettings, Settings, TopicSettings
from cxpulse.topics import ensure_topics, topic_specs

QUICK = {"request_timeout_ms": 5000, "bootstrap_timeout_ms": 5000, "api_version_auto_timeout_ms": 5000}


def _admin(kafka: KafkaSettings) -> KafkaAdminClient:
    return KafkaAdminClient(**kafka_python_config(kafka), **{k: v for k, v in QUICK.items() if k != "api_version_auto_timeout_ms"})


def _refused(kafka: KafkaSettings) -> bool:
    """True when a kafka-python admin client cannot list the cluster with these settings."""
    try:
        admin = _admin(kafka)
    except (KafkaError, OSError, ValueError):
        return True
    try:
        admin.describe_cluster()
    except (KafkaError, OSError):
        return True
    finally:
        admin.close()
    return False


def _with(kafka: KafkaSettings, **change) -> KafkaSettings:
    """A validated copy (model_copy would keep a plain str where a SecretStr belongs)."""
    return KafkaSettings(**{**kafka.model_dump(), **change})


def _settings(secure_kafka, partitions: int = 2) -> Settings:
    run = uuid.uuid4().hex[:10]
    topics = TopicSettings(events=f"sec-{run}.events", alerts=f"sec-{run}.alerts", scores=f"sec-{run}.scores",
                           dlq=f"sec-{run}.dlq", partitions=partitions)  # fmt: skip
    settings = Settings(kafka=secure_kafka.settings, topics=topics)
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    return settings


def _read_all(kafka: KafkaSettings, topic: str, count: int, timeout: float = 30.0) -> list:
    consumer = KafkaConsumer(**kafka_python_config(kafka), group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=int(timeout * 1000))  # fmt: skip
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records = []
        for record in consumer:  # ends after consumer_timeout_ms without a record
            records.append(record)
            if len(records) >= count:
                break
        return records
    finally:
        consumer.close()


def test_scram_over_tls_gets_in_with_kafka_python(secure_kafka):
    settings = _settings(secure_kafka)
    producer = KafkaProducer(**kafka_python_config(settings.kafka), acks="all")
    producer.send(settings.topics.events, key=b"C-1", value=b"{}").get(timeout=30)
    producer.close()

    assert [r.value for r in _read_all(settings.kafka, settings.topics.events, 1)] == [b"{}"]


def test_scram_over_tls_gets_in_with_aiokafka(secure_kafka):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    settings = _settings(secure_kafka, partitions=1)

    async def roundtrip() -> list[bytes]:
        producer = AIOKafkaProducer(**aiokafka_config(settings.kafka), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.events, b"aio", key=b"C-2")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(settings.topics.events, **aiokafka_config(settings.kafka), auto_offset_reset="earliest")
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=20000, max_records=1)
            return [record.value for records in batch.values() for record in records]
        finally:
            await consumer.stop()

    assert asyncio.run(asyncio.wait_for(roundtrip(), 90)) == [b"aio"]


def test_faust_credentials_get_in(secure_kafka):
    import faust

    from cxpulse.clients import faust_broker_config

    settings = _settings(secure_kafka, partitions=1)
    app = faust.App(f"cxpulse-sec-{uuid.uuid4().hex[:8]}", **faust_broker_config(settings.kafka))

    async def send() -> None:
        producer = app.producer
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.events, b"C-3", b"faust", partition=None, timestamp=None, headers=None)
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(send(), 90))
    assert [r.value for r in _read_all(settings.kafka, settings.topics.events, 1)] == [b"faust"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"security_protocol": "PLAINTEXT"}, id="plaintext"),
        pytest.param({"security_protocol": "SSL"}, id="tls-without-sasl"),
        pytest.param({"security_protocol": "SASL_PLAINTEXT"}, id="sasl-without-tls"),
        pytest.param({"sasl_password": "not-the-password"}, id="wrong-password"),
        pytest.param({"sasl_username": "nobody"}, id="unknown-user"),
        pytest.param({"sasl_mechanism": "PLAIN"}, id="plain-mechanism"),
        pytest.param({"ssl_cafile": None}, id="untrusted-ca"),
    ],
)
def test_clients_without_the_right_credentials_are_refused(secure_kafka, change):
    assert not _refused(secure_kafka.settings)  # the right settings get in

    assert _refused(_with(secure_kafka.settings, **change))


def test_an_unauthenticated_aiokafka_producer_cannot_write(secure_kafka):
    from aiokafka import AIOKafkaProducer

    kafka = _with(secure_kafka.settings, sasl_password="wrong")

    async def attempt() -> None:
        producer = AIOKafkaProducer(**aiokafka_config(kafka), request_timeout_ms=5000)
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(Exception) as raised:
        asyncio.run(asyncio.wait_for(attempt(), 60))
    assert not isinstance(raised.value, asyncio.TimeoutError)


def _cxpulse() -> list[str]:
    script = Path(sys.executable).with_name("cxpulse")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from cxpulse.cli import main; main()"]


def test_the_simulator_and_file_import_produce_over_scram_tls(secure_kafka, config_file_factory, tmp_path):
    settings = _settings(secure_kafka)
    config = config_file_factory(settings)
    events = tmp_path / "events.jsonl"
    lines = [json.dumps({
        "event_id": f"imp-{n}", "event_type": "call", "customer_id": f"C-40000{n}", "occurred_at": "2024-05-01T10:00:00Z",
        "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 1.0,
        "talk_seconds": 2.0, "outcome": "resolved"}) for n in range(5)]  # fmt: skip
    events.write_text("\n".join(lines) + "\n")

    # A fixed anchor and enough customers: the run stops at --count (with the default anchor,
    # today, 20 customers made 39 events on a Sunday and the test failed).
    simulated = subprocess.run([*_cxpulse(), "--config", str(config), "simulate", "--count", "40", "--customers", "200",
                                "--anchor", "2025-03-10T00:00:00Z"], capture_output=True, text=True, timeout=180)  # fmt: skip
    imported = subprocess.run([*_cxpulse(), "--config", str(config), "produce", str(events)],
                              capture_output=True, text=True, timeout=180)  # fmt: skip

    assert simulated.returncode == 0, simulated.stderr
    assert "stopped by --count" in simulated.stdout + simulated.stderr
    assert imported.returncode == 0, imported.stderr
    records = _read_all(settings.kafka, settings.topics.events, 45)
    assert len(records) == 45
    assert {orjson.loads(r.value)["event_id"] for r in records} >= {f"imp-{n}" for n in range(5)}
    assert secure_kafka.security.client_password not in simulated.stderr + imported.stderr


def test_the_gateway_writes_over_scram_tls(secure_kafka, gateway_factory, wait_healthy):
    settings = _settings(secure_kafka, partitions=1)
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    event = {"event_id": "gw-1", "event_type": "call", "customer_id": "C-400100", "occurred_at": "2024-05-01T10:00:00Z",
             "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 1.0,
             "talk_seconds": 2.0, "outcome": "resolved"}  # fmt: skip

    assert gateway.post(event).status == 202
    records = _read_all(settings.kafka, settings.topics.events, 1)
    assert [(r.key, orjson.loads(r.value)["event_id"]) for r in records] == [(b"C-400100", "gw-1")]
    assert secure_kafka.security.client_password not in gateway.logs()


def test_the_gateway_with_wrong_credentials_answers_503_and_never_accepts(secure_kafka, gateway_factory, wait_for):
    settings = _settings(secure_kafka, partitions=1)
    wrong = settings.model_copy(update={"kafka": _with(settings.kafka, sasl_password="wrong-password")})
    gateway = gateway_factory(wrong)
    event = {"event_id": "gw-2", "event_type": "call", "customer_id": "C-400101", "occurred_at": "2024-05-01T10:00:00Z",
             "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 1.0,
             "talk_seconds": 2.0, "outcome": "resolved"}  # fmt: skip

    answers = [gateway.post(event).status for _ in range(3)]

    assert answers == [503, 503, 503]
    assert gateway.get("/healthz").status == 503
    assert "wrong-password" not in gateway.logs()


# --- a refused login is reported as one, by every client ---------------------------------------


def _wrong_password_config(secure_kafka, settings: Settings, config_file_factory) -> Path:
    return config_file_factory(settings.model_copy(update={"kafka": _with(settings.kafka, sasl_password="wrong-password")}))


@pytest.mark.parametrize("command", [["topics", "list"], ["worker"]], ids=["kafka-python-admin", "worker"])
def test_a_wrong_password_is_reported_as_an_authentication_failure(secure_kafka, config_file_factory, tmp_path,
                                                                   command):
    settings = _settings(secure_kafka, partitions=1)
    config = _wrong_password_config(secure_kafka, settings, config_file_factory)

    done = subprocess.run([*_cxpulse(), "--config", str(config), *command], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path, check=False)  # fmt: skip

    assert done.returncode == 1, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cxpulse: error: Kafka at ") and "authentication failed" in last, last
    assert "cannot reach" not in done.stderr and "wrong-password" not in done.stderr + done.stdout


def test_the_gateway_says_authentication_failed(secure_kafka, gateway_factory, wait_for):
    settings = _settings(secure_kafka, partitions=1)
    gateway = gateway_factory(settings.model_copy(update={"kafka": _with(settings.kafka, sasl_password="wrong-password")}))

    line = wait_for(lambda: next((line for line in gateway.logs().splitlines() if "authentication failed" in line), None),
                    timeout=120, message="the gateway's log names the refused login")  # fmt: skip

    assert "user 'cxpulse' was refused with SCRAM-SHA-512" in line and "retrying" in line
    assert "not reachable" not in gateway.logs() and "wrong-password" not in gateway.logs()


# --- the controller listener and the command lines (the probe of issue 14) ---------------------


def _config_command(secure_kafka, protocol: str, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """Kafka's own kafka-configs tool (kafka.admin.ConfigCommand, in the rig's jars), as any local user could run it."""
    from cxpulse.broker_files import find_java, libs_dir
    from cxpulse.settings import load_settings

    properties = tmp_path / f"{protocol}.properties"  # quick timeouts: a refused client retries until they pass
    properties.write_text(f"security.protocol={protocol}\nssl.truststore.type=PEM\n"
                          f"ssl.truststore.location={secure_kafka.security.ca_file}\n"
                          "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n")
    classpath = f"{libs_dir(load_settings().broker)}/*"
    return subprocess.run([str(find_java()), "-Xmx256m", "-cp", classpath, "kafka.admin.ConfigCommand",
                           "--bootstrap-controller", f"127.0.0.1:{secure_kafka.controller_port}",
                           "--command-config", str(properties), *argv],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def _retention_ms(kafka: KafkaSettings, topic: str) -> str:
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = _admin(kafka)
    try:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, ["retention.ms"])],
                                         config_filter="all")  # fmt: skip
    finally:
        admin.close()
    value = configs["topic"][topic]["retention.ms"]
    return str(value["value"] if isinstance(value, dict) else value)


def test_the_controller_listener_admits_only_the_broker(secure_kafka, tmp_path, free_port):
    from cxpulse.broker import broker_answers

    settings = _settings(secure_kafka, partitions=1)
    topic, before, evil = settings.topics.events, _retention_ms(secure_kafka.settings, settings.topics.events), free_port()
    controller = f"127.0.0.1:{secure_kafka.controller_port}"

    # What the probe did without credentials: shorten a topic's retention, open a plaintext listener.
    shortened = _config_command(secure_kafka, "PLAINTEXT", tmp_path, "--alter", "--entity-type", "topics",
                                "--entity-name", topic, "--add-config", "retention.ms=1")
    opened = _config_command(secure_kafka, "PLAINTEXT", tmp_path, "--alter", "--entity-type", "brokers",
                             "--entity-name", "1", "--add-config",
                             f"listeners=[SASL_SSL://{secure_kafka.bootstrap_servers},CONTROLLER://{controller},"
                             f"EVIL://127.0.0.1:{evil}],listener.security.protocol.map=[SASL_SSL:SASL_SSL,"
                             "CONTROLLER:SSL,EVIL:PLAINTEXT]")
    # Nor with TLS and the rig's CA: the controller wants the broker's own certificate.
    with_tls = _config_command(secure_kafka, "SSL", tmp_path, "--alter", "--entity-type", "topics",
                               "--entity-name", topic, "--add-config", "retention.ms=1")

    assert shortened.returncode != 0, shortened.stdout
    assert opened.returncode != 0, opened.stdout
    assert with_tls.returncode != 0, with_tls.stdout
    assert _retention_ms(secure_kafka.settings, topic) == before != "1"
    assert not broker_answers(f"127.0.0.1:{evil}", 5.0, KafkaSettings(bootstrap_servers=f"127.0.0.1:{evil}"))
    assert not _refused(secure_kafka.settings)  # the broker itself still works


def test_no_password_is_on_a_command_line(secure_kafka):
    seen = set(secure_kafka.command_lines)  # while the storage was formatted and the broker started
    for path in Path("/proc").glob("[0-9]*/cmdline"):  # and now
        try:
            seen.add(path.read_bytes())
        except OSError:
            pass

    assert any(b"kafka.tools.StorageTool" in line for line in seen)  # the watcher ran while the storage was formatted
    assert any(b"kafka.Kafka" in line for line in seen)
    for password in (secure_kafka.security.admin_password, secure_kafka.security.client_password):
        assert not [line for line in seen if password.encode() in line]
