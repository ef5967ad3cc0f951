"""Fixtures for the operations tests: real Prometheus, Alertmanager, workers, router and simulator.

Prometheus and Alertmanager are Debian's packages (``scripts/bootstrap.sh`` installs them);
the tests that need them skip, naming the missing binary, only when they are absent.

    ops_tools                  skips unless prometheus/promtool and (prometheus-)alertmanager/amtool exist
    ops_run (module scope)     one real run: 2 workers, the alert router, Prometheus scraping them, Alertmanager
                               routing to an in-process webhook sink, and the simulator (fixed seed and
                               anchor) producing into the events topic; see ``OpsRun``
"""

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from ruamel.yaml import YAML

from cxpulse.alerts.alertmanager import AlertmanagerClient
from cxpulse.alerts.ops import ALERTMANAGER_BINARIES, OpsStack
from cxpulse.alerts.sink import WebhookSink
from cxpulse.settings import KafkaSettings, Settings
from cxpulse.supervisor import Child, Children, cxpulse_command

from ...conftest import _free_port, _wait_for

SEED = 1
ANCHOR = "2026-01-15T18:00:00+00:00"  # fixed: the same events, hence the same alerts, every run
CUSTOMERS = 400
DAYS = 2
BAD_RECORDS = [(b"bad-1", b"{not json"), (b"bad-2", b'{"event_type": "call"}')]
# Alertmanager's timers, shortened for the test (the routing tree and inhibition are the committed ones).
AM_TIMERS = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports, below the ephemeral range (the root conftest's rule)."""
    return [_free_port() for _ in range(count)]


def wait_until(predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.25) -> Any:
    return _wait_for(predicate, timeout, interval, message)


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def get_text(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError):
        return None


@pytest.fixture(scope="session")
def ops_tools() -> dict[str, str]:
    """Paths of the Prometheus and Alertmanager binaries; skip (with the reason) when absent."""
    wanted = {"prometheus": ("prometheus",), "promtool": ("promtool",), "alertmanager": ALERTMANAGER_BINARIES,
              "amtool": ("amtool",)}
    found = {role: next((shutil.which(n) for n in names if shutil.which(n)), None) for role, names in wanted.items()}
    missing = [role for role, path in found.items() if path is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/bootstrap.sh installs Debian's prometheus and "
                    "prometheus-alertmanager when run as root)")
    return found  # type: ignore[return-value]


class Prometheus:
    """Queries through the HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        body = get_json(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}")
        if body is None or body.get("status") != "success":
            raise AssertionError(f"query failed: {expr}: {body}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def value(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None


@dataclass
class OpsRun:
    """What the module's run started and produced."""

    settings: Settings
    config: Path
    children: Children
    stack: OpsStack
    sink: WebhookSink
    prometheus: Prometheus
    alertmanager: AlertmanagerClient
    workers: list[Child]
    router: Child
    alertmanager_child: Child
    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)  # every record on the events topic
    finished_at: float = 0.0  # when every record had been processed and scraped

    def worker_url(self, index: int) -> str:
        return f"http://{self.settings.ops.worker_targets[index]}"

    def restart_alertmanager(self) -> None:
        argv = self.stack.commands()["alertmanager"]
        self.alertmanager_child = self.children.start("alertmanager-again", argv)
        wait_until(self.alertmanager.ready, 60, "Alertmanager answers again")

    def stop_alertmanager(self) -> None:
        process = self.alertmanager_child.process
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _settings(kafka: KafkaSettings, data_dir: Path) -> Settings:
    from cxpulse.topics import ensure_topics, topic_specs

    run = uuid.uuid4().hex[:10]
    web_port, second_web_port, am_port, router_port, prometheus_port = free_ports(5)
    settings = Settings(
        kafka=kafka.model_dump(),
        topics={"events": f"ops-{run}.events", "alerts": f"ops-{run}.alerts", "scores": f"ops-{run}.scores",
                "dlq": f"ops-{run}.dlq", "partitions": 4, "replication_factor": 1},
        worker={"app_id": f"ops-{run}", "web_port": web_port, "data_dir": str(data_dir / "worker")},
        alerts={"alertmanager_url": f"http://127.0.0.1:{am_port}", "group_id": f"ops-router-{run}",
                "metrics_port": router_port, "retry_initial_seconds": 0.2, "retry_max_seconds": 1.0,
                "resend_seconds": 5.0},
        ops={"prometheus_port": prometheus_port, "sink_port": 0,
             "worker_targets": [f"127.0.0.1:{web_port}", f"127.0.0.1:{second_web_port}"], "data_dir": str(data_dir / "ops"),
             "scrape_interval_seconds": 1.0},
    )
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    return settings


def _write_config(settings: Settings, path: Path) -> Path:
    lines = []
    for section, values in settings.model_dump(mode="json", exclude_none=True).items():
        flat = {k: v for k, v in values.items() if not isinstance(v, dict)}
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in flat.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shorten_alertmanager_timers(config: Path, sink_url: str) -> None:
    """The committed routing tree with test-sized timers and the in-process sink's URL."""
    yaml = YAML()
    data = yaml.load(config.read_text(encoding="utf-8"))
    routes = [data["route"], *data["route"].get("routes", [])]
    for route in routes:
        for key, value in AM_TIMERS.items():
            if key in route or route is data["route"]:
                route[key] = value
    for receiver in data["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = hook["url"].replace("http://127.0.0.1:9099", sink_url)
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)


class Recorder:
    """Starts through ``children`` and remembers each child by name."""

    def __init__(self, children: Children) -> None:
        self.children, self.started = children, {}

    def start(self, name: str, argv: list[str]) -> Child:
        child = self.started[name] = self.children.start(name, argv)
        return child


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}


def _ready_workers(run_urls: list[str], partitions: int) -> bool:
    bodies = [get_json(url + "/healthz") for url in run_urls]
    if any(body is None or body["rebalancing"] for body in bodies):
        return False
    # both workers hold partitions of the events topic, and together all of them
    counts = [_assigned(url) for url in run_urls]
    return all(c > 0 for c in counts) and sum(counts) == partitions


def _assigned(url: str) -> int:
    text = get_text(url + "/metrics") or ""
    total = 0
    for line in text.splitlines():
        if line.startswith("cxpulse_worker_assigned_partitions{") and ".events" in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def _events_processed(run_urls: list[str]) -> int:
    total = 0
    for url in run_urls:
        body = get_json(url + "/healthz")
        total += body["events"] if body else 0
    return total


def _all_records(kafka: KafkaSettings, topic: str) -> list[tuple[bytes | None, bytes]]:
    from kafka import KafkaConsumer, TopicPartition

    from cxpulse.clients import kafka_python_config

    consumer = KafkaConsumer(**kafka_python_config(kafka), group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end for tp, end in ends.items()) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records += [(r.key, r.value) for r in batch]
        return records
    finally:
        consumer.close()


def produce_records(kafka: KafkaSettings, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    from kafka import KafkaProducer

    from cxpulse.clients import kafka_python_config

    producer = KafkaProducer(**kafka_python_config(kafka), acks="all")
    try:
        for future in [producer.send(topic, key=k, value=v) for k, v in records]:
            future.get(timeout=30)
    finally:
        producer.close()


@pytest.fixture(scope="module")
def ops_run(ops_tools, kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsRun]:
    base = tmp_path_factory.mktemp("ops-run")
    settings = _settings(kafka_settings, base)
    config = _write_config(settings, base / "cxpulse.toml")
    children = Children(base / "logs")
    children.env = {**_clean_env(), "CXPULSE_CONFIG": str(config)}
    sink = WebhookSink().start()
    stack = OpsStack.from_settings(settings)
    ports = [int(target.rsplit(":", 1)[1]) for target in settings.ops.worker_targets]
    try:
        rendered = stack.prepare()
        _shorten_alertmanager_timers(rendered["alertmanager"], sink.url)
        recorder = Recorder(children)
        stack.start(recorder, prepare=False)
        am_child = recorder.started["alertmanager"]
        workers = [children.start(f"worker-{i}", cxpulse_command(
            "worker", "--web-port", str(port), "--data-dir", str(base / f"worker-{i}"), "--loglevel", "warning"))
            for i, port in enumerate(ports)]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        wait_until(lambda: children.check() or _ready_workers(urls, settings.topics.partitions), 240,
                   "both workers ready, the events topic's partitions split between them")
        router = children.start("router", cxpulse_command("alerts", "route"))
        run = OpsRun(settings, config, children, stack, sink, Prometheus(stack.urls["Prometheus"]),
                     AlertmanagerClient(stack.urls["Alertmanager"]), workers, router, am_child)
        produce_records(settings.kafka, settings.topics.events, BAD_RECORDS)
        simulator = children.start("simulator", cxpulse_command(
            "simulate", "--customers", str(CUSTOMERS), "--days", str(DAYS), "--seed", str(SEED), "--anchor", ANCHOR,
            "--rate", "150", "--churn", "--churn-scale", "10"), daemon=False)  # churn: the outcome panels have data
        wait_until(lambda: simulator.process.poll() is not None, 120, "the simulator finished")
        assert simulator.process.returncode == 0, simulator.last_lines()
        run.records = _all_records(settings.kafka, settings.topics.events)
        total = len(run.records)
        wait_until(lambda: children.check() or _events_processed(urls) == total, 180,
                   f"the workers processed all {total} records")
        wait_until(lambda: run.prometheus.value(
            'sum(cxpulse_events_total{job="cxpulse-worker"}) + sum(cxpulse_events_invalid_total)') == total,
                   60, "Prometheus scraped the final counts")
        run.finished_at = time.time()
        yield run
    finally:
        children.stop_all(grace=20)
        sink.stop()


def alert_record(alert: dict[str, Any]) -> tuple[bytes, bytes]:
    key = alert["customer_id"] or alert["service_type"]
    return key.encode(), orjson.dumps(alert)


@pytest.fixture
def worker_metrics_text() -> str:
    """The worker's /metrics text after a scripted batch with alerts, breaches and customers (no Kafka)."""
    from datetime import datetime, timedelta, timezone
    from cxpulse.processors.worker.clock import SlaClock
    from tests.unit.worker.conftest import faust_message
    from cxpulse.processors.engine import Engine
    from cxpulse.processors.worker.metrics import WorkerMetrics, worker_registry
    from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor

    registry = worker_registry()
    engine = Engine()
    metrics = WorkerMetrics(registry, ["billing"], engine.band, "promtool")
    scoring = ScoringProcessor(engine, OutputTopics("a", "s", "d", "c", "l"), {}, SlaClock(), 86400)
    t0 = datetime(2026, 1, 15, 9, tzinfo=timezone.utc)
    messages = []
    for i in range(6):
        event = {"event_id": f"e{i}", "event_type": "call", "customer_id": "C-1", "channel": "phone",
                 "service_type": "billing" if i % 2 else "elsewhere", "segment": "vip", "direction": "inbound",
                 "wait_seconds": 1, "talk_seconds": 1, "outcome": "unresolved", "is_complaint": i == 3,
                 "occurred_at": (t0 + timedelta(minutes=i)).isoformat()}
        messages.append(faust_message("t", 0, i, b"C-1", orjson.dumps(event), t0.timestamp() + 60 * i))
    messages.append(faust_message("t", 0, 9, b"x", b"junk", 0.0))

    class Sink:
        def add(self, *args):
            pass

    stats = scoring.process(messages, Sink(), Sink(), t0.isoformat())
    metrics.observe_batch(stats.observed, stats.invalid, stats.touched, 0.01, t0.timestamp() + 600)
    from prometheus_client import generate_latest

    return generate_latest(registry).decode()
