"""A running pipeline for the supervisor's console: the test broker, a worker, Alertmanager
(Debian's package, the committed routing tree and inhibition with test-sized timers,
receivers posting to an in-process webhook sink), the alert router, and the console
(in-process, on a free loopback port).

    console_stack (package scope)  ``ConsoleStack``: settings, the console's URL, the
                                   Alertmanager client, the sink, ``produce_events``,
                                   ``produce_alerts``, ``produce_warnings``

The tests that need Alertmanager skip, naming it, when it is not installed.
"""

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from cxpulse.alerts.alertmanager import AlertmanagerClient
from cxpulse.alerts.console_web import ConsoleServer
from cxpulse.alerts.ops import OpsStack
from cxpulse.alerts.sink import WebhookSink

from cxpulse.settings import KafkaSettings, Settings
from cxpulse.supervisor import Children, cxpulse_command

from ..ops.conftest import (  # noqa: F401 - ops_tools is a fixture
    _clean_env,
    _shorten_alertmanager_timers,
    _write_config,
    free_ports,
    get_json,
    ops_tools,
    produce_records,
    wait_until,
)


class ConsoleThread:
    """The console's aiohttp app on its own event loop in a thread (stopped at the end)."""

    def __init__(self, server: ConsoleServer, port: int) -> None:
        from aiohttp import web

        self.server, self.port = server, port
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(server.app(), access_log=None)
        self.thread = threading.Thread(target=self.loop.run_forever, name="console", daemon=True)

    def start(self) -> str:
        from aiohttp import web

        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self.thread.start()
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@dataclass
class ConsoleStack:
    settings: Settings
    url: str
    warnings_topic: str
    alertmanager: AlertmanagerClient
    sink: WebhookSink
    children: Children
    base: Path

    def produce_events(self, events: list[dict[str, Any]]) -> None:
        produce_records(self.settings.kafka, self.settings.topics.events,
                        [(e["customer_id"].encode(), orjson.dumps(e)) for e in events])

    def produce_alerts(self, alerts: list[dict[str, Any]]) -> None:
        produce_records(self.settings.kafka, self.settings.topics.alerts,
                        [((a["customer_id"] or a["service_type"]).encode(), orjson.dumps(a)) for a in alerts])

    def produce_warnings(self, warnings: list[dict[str, Any]]) -> None:
        produce_records(self.settings.kafka, self.warnings_topic,
                        [(w["customer_id"].encode(), orjson.dumps(w)) for w in warnings])

    def am_alerts(self) -> list[dict[str, Any]]:
        return [a for a in self.alertmanager.alerts() if "alert_id" in a["labels"]]


def _settings(kafka: KafkaSettings, base: Path) -> tuple[Settings, str]:
    from cxpulse.topics import TopicSpec, ensure_topics, topic_specs

    run = uuid.uuid4().hex[:10]
    web_port, am_port, prometheus_port, console_port = free_ports(4)
    settings = Settings(
        kafka=kafka.model_dump(),
        topics={"events": f"con-{run}.events", "alerts": f"con-{run}.alerts", "scores": f"con-{run}.scores",
                "dlq": f"con-{run}.dlq", "partitions": 2, "replication_factor": 1},
        worker={"app_id": f"con-{run}", "web_port": web_port, "data_dir": str(base / "worker")},
        alerts={"alertmanager_url": f"http://127.0.0.1:{am_port}", "group_id": f"con-router-{run}",
                "metrics_port": 0, "retry_initial_seconds": 0.2, "retry_max_seconds": 1.0, "resend_seconds": 5.0,
                "customer_url": f"http://127.0.0.1:{web_port}/customers/{{customer_id}}"},
        ops={"prometheus_port": prometheus_port, "sink_port": 0, "data_dir": str(base / "ops")},
        console={"port": console_port, "alertmanager_poll_seconds": 0.5, "push_interval_seconds": 0.2},
    )
    warnings = f"con-{run}.agent-warnings"
    ensure_topics(settings.kafka, [*topic_specs(settings.topics), TopicSpec(warnings, 2, 1)])
    return settings, warnings


@pytest.fixture(scope="package")
def console_stack(ops_tools, kafka_settings: KafkaSettings,  # noqa: F811 - the imported fixture
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    base = tmp_path_factory.mktemp("console")
    settings, warnings = _settings(kafka_settings, base)
    config = _write_config(settings, base / "cxpulse.toml")
    children = Children(base / "logs")
    children.env = {**_clean_env(), "CXPULSE_CONFIG": str(config)}
    sink = WebhookSink().start()
    console: ConsoleThread | None = None
    try:
        stack = OpsStack.from_settings(settings, base / "ops")
        rendered = stack.prepare()
        _shorten_alertmanager_timers(rendered["alertmanager"], sink.url)
        children.start("alertmanager", stack.commands()["alertmanager"])
        worker = children.start("worker", cxpulse_command(
            "worker", "--web-port", str(settings.worker.web_port), "--data-dir", str(base / "worker"),
            "--loglevel", "warning"))
        client = AlertmanagerClient(settings.alerts.alertmanager_url)
        wait_until(lambda: children.check() or client.ready(), 60, "Alertmanager answers")
        children.start("router", cxpulse_command("alerts", "route"))
        console = ConsoleThread(ConsoleServer(settings, warnings=warnings), settings.console.port)
        url = console.start()
        wait_until(lambda: children.check() or _worker_ready(settings), 180, "the worker holds every partition")
        wait_until(lambda: (get_json(url + "api/status") or {}).get("kafka", {}).get("kafka") == "live", 60,
                   "the console reads Kafka")
        assert worker.alive()
        yield ConsoleStack(settings, url, warnings, client, sink, children, base)
    finally:
        if console is not None:
            console.stop()
        children.stop_all(grace=20)
        sink.stop()


def _worker_ready(settings: Settings) -> bool:
    body = get_json(f"http://127.0.0.1:{settings.worker.web_port}/healthz")
    return bool(body) and not body["rebalancing"] and len(body.get("owned_partitions") or []) == settings.topics.partitions
