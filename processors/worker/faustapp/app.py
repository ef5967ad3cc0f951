"""The faust app of ``cxpulse worker``: topics, tables, two thin agents, a timer, pages (read API, health, metrics).

``create_app(settings)`` builds it; nothing connects until the worker starts. The work
itself is in :class:`~cxpulse.processors.worker.faustapp.runtime.WorkerRuntime` and the pure engine.
"""

from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cxpulse.clients import faust_broker_config
from cxpulse.settings import Settings
from cxpulse.topics import DLQ_MAX_MESSAGE_BYTES

from .collector import FaustCollector
from .direct import DirectBatches
from .readapi import add_read_api
from .runtime import WorkerRuntime
from .transport import FastDrainTransport

__all__ = ["WorkerApp", "contacts_topic_name", "create_app"]


class WorkerApp(faust.App):
    """``faust.App`` that can use :class:`FastDrainTransport`; ``runtime`` holds the engine."""

    fast_drain: bool = True
    direct_sinks: dict[str, Any] | None = None
    runtime: WorkerRuntime

    def _new_transport(self) -> Any:
        if self.fast_drain:
            return FastDrainTransport(self.conf.broker_consumer, self)
        return super()._new_transport()


def _faust_config(settings: Settings) -> dict[str, Any]:
    worker = settings.worker
    return {
        **faust_broker_config(settings.kafka),
        "store": worker.store,
        "datadir": worker.data_dir,
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": settings.topics.replication_factor,
        "processing_guarantee": "at_least_once",
        # Standby replicas would read other workers' changelogs into this worker's memory
        # store (the same dict as its own customers): double the memory, and states it does
        # not own under its SLA sweep. A memory store recovers from the changelog anyway.
        "table_standby_replicas": 0,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": worker.commit_interval_seconds,
        "broker_session_timeout": worker.session_timeout_seconds,
        "broker_max_poll_records": worker.max_poll_records,
        "stream_buffer_maxsize": worker.stream_buffer_maxsize,
        "producer_linger": worker.producer_linger_seconds,
        "producer_max_batch_size": worker.producer_max_batch_bytes,
        # The largest single record (a dead letter, a state on a changelog) plus a batch's framing.
        "producer_max_request_size": max(DLQ_MAX_MESSAGE_BYTES, worker.changelog_max_message_bytes,
                                         worker.producer_max_batch_bytes) + 65536,
        "producer_acks": -1,
        "web_enabled": worker.web_enabled,
        "web_bind": worker.web_host,
        "web_port": worker.web_port,
        "canonical_url": f"http://{worker.web_host}:{worker.web_port}",
        "web_host": worker.web_host,
    }


def contacts_topic_name(settings: Settings) -> str:
    """The internal topic of inbound contacts, keyed by service type (the incident agent's input)."""
    return f"{settings.worker.app_id}-contacts"


def create_app(settings: Settings) -> WorkerApp:
    """The worker's faust app for ``settings`` (no connections are made here)."""
    worker = settings.worker
    app = WorkerApp(worker.app_id, **_faust_config(settings))
    app.fast_drain = worker.fast_drain
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    events_topic = app.topic(settings.topics.events, **raw)
    contacts_topic = app.topic(contacts_topic_name(settings), internal=True,
                               partitions=settings.topics.partitions, **raw)
    changelog = {"max.message.bytes": str(worker.changelog_max_message_bytes)}  # set when faust creates them
    customer_to_state = app.Table("customer_to_state", key_type=bytes, value_type=bytes,
                                  partitions=settings.topics.partitions, extra_topic_configs=changelog)
    service_to_incident = app.Table("service_to_incident", key_type=bytes, value_type=bytes,
                                    partitions=settings.topics.partitions, extra_topic_configs=changelog)
    runtime = app.runtime = WorkerRuntime(app, settings, customer_to_state, service_to_incident,
                                          contacts_topic.get_topic_name())
    customer_to_state.on_recover(runtime.on_customers_recovered)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust awaits an async receiver
    async def on_revoked(app: Any, revoked: Any, **kwargs: Any) -> None:
        runtime.on_partitions_revoked(revoked)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def on_assigned(app: Any, assigned: Any, **kwargs: Any) -> None:
        runtime.on_partitions_assigned(assigned)

    sources = (settings.topics.events, contacts_topic.get_topic_name())
    runtime.registry.register(FaustCollector(app, lambda: sources))
    batch = (worker.batch_max, worker.batch_within_seconds)

    if worker.fast_drain and worker.direct_delivery:
        # Contacts go the same way as events: through faust's streams they starved while a
        # backlog of events was read (a full agent buffer takes its partition out of the
        # fetch until the buffer drains; incidents were found only after the backlog).
        direct, contacts = (DirectBatches(app, handle, *batch, worker.stream_buffer_maxsize)
                            for handle in (runtime.score_messages, runtime.detect_messages))
        app.direct_sinks = {settings.topics.events: direct.put, contacts_topic.get_topic_name(): contacts.put}

        @app.task
        async def score_events_direct() -> None:
            """Direct delivery of ``cx.events`` (the ``score_events`` agent then stays idle)."""
            await direct.run()

        @app.task
        async def detect_incidents_direct() -> None:
            """Direct delivery of contacts (the ``detect_incidents`` agent then stays idle)."""
            await contacts.run()

    @app.agent(events_topic, name="score_events")
    async def score_events(stream: faust.StreamT) -> None:
        """Score every customer-contact event; alerts, snapshots and contacts out per batch."""
        async for events in stream.take_events(*batch):  # type: ignore[attr-defined]  # faust.Stream has it, StreamT not
            await runtime.score_batch(events)

    @app.agent(contacts_topic, name="detect_incidents")
    async def detect_incidents(stream: faust.StreamT) -> None:
        """Count distinct customers per service type; raise ``incident`` alerts."""
        async for events in stream.take_events(*batch):  # type: ignore[attr-defined]
            await runtime.detect_incidents(events)

    @app.timer(worker.sla_check_seconds, name="check_sla")
    async def check_sla() -> None:
        await runtime.sweep_sla()

    add_read_api(app, runtime, customer_to_state)  # /customers/{id}, the brief API, /openapi.json

    @app.page("/metrics", name="metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(runtime.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz", name="healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json(runtime.health())

    @app.page("/readyz", name="readyz")  # 503 until partitions are assigned and recovered (readiness probes)
    async def readyz(web: Any, request: Any) -> Any:
        body = runtime.readiness()
        return web.json(body, status=200 if body["ready"] else 503)

    return app
