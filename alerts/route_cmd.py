"""The shell of ``cxpulse alerts route``: wire Kafka, Alertmanager and /metrics; stop on a signal."""

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, disable_created_metrics, start_http_server

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

from .alertmanager import AlertmanagerClient
from .payload import customer_link_template
from .router import AlertRouter, RouterTotals
from .router_metrics import RouterMetrics

__all__ = ["run_router"]


def run_router(settings: Settings, *, from_beginning: bool = True, say=print) -> RouterTotals:
    """Route alerts until SIGTERM or SIGINT; returns what was done."""
    from .kafka_source import KafkaAlertSource

    link = customer_link_template(settings.alerts, settings.console)
    alerts = settings.alerts.model_copy(update={"customer_url": link})
    disable_created_metrics()  # no *_created series: the router's own start time is process_start_time_seconds
    # Metadata chatter: errors at most, and nothing at the default level (cxpulse.logs).
    kafka = logging.getLogger("kafka")
    kafka.setLevel(max(logging.ERROR, kafka.getEffectiveLevel(), logging.getLogger().level))
    registry = CollectorRegistry()
    metrics = RouterMetrics(registry)
    metrics_url = _serve_metrics(registry, alerts.metrics_host, alerts.metrics_port)
    _check_topic(settings)
    source = KafkaAlertSource(settings, from_beginning=from_beginning)
    stop = threading.Event()
    client = AlertmanagerClient(alerts.alertmanager_url, alerts.request_timeout_seconds)
    router = AlertRouter(source, client, alerts, metrics, stop, incident_window=settings.engine.incident_window_seconds)
    _seed_incidents(router, client)
    say(f"routing alerts from {settings.topics.alerts} (group {alerts.group_id}) to {alerts.alertmanager_url}"
        + (f"; metrics on {metrics_url}" if metrics_url else "")
        + (f"; customer links: {link}" if link else "; no customer links (set [console] public_url)"))
    try:
        with _stopping_on_signals(stop):
            return router.run()
    finally:
        source.close()


def _seed_incidents(router: AlertRouter, client: AlertmanagerClient) -> None:
    """The incidents Alertmanager still holds (a restarted router has forgotten them)."""
    from .alertmanager import DeliveryError

    try:
        held = client.alerts(filter=['alertname="incident"'])
    except DeliveryError as exc:
        logging.getLogger(__name__).info("could not read the active incidents from Alertmanager: %s", exc)
        return
    router.seed_incidents(held)


def _serve_metrics(registry: CollectorRegistry, host: str, port: int) -> str | None:
    if not port:
        return None
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise CxpulseError(f"cannot serve metrics on {host}:{port}: {exc.strerror} (set alerts.metrics_port)") from None
    return f"http://{host}:{port}/metrics"


def _check_topic(settings: Settings) -> None:
    from cxpulse.topics import list_topics

    if settings.topics.alerts not in {info.name for info in list_topics(settings.kafka)}:
        raise CxpulseError(f"topic {settings.topics.alerts} does not exist; create it with 'cxpulse topics create'")


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    handler = lambda signum, frame: stop.set()  # noqa: E731
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
