"""Prometheus metrics of ``cxpulse alerts route`` (its own ``/metrics`` port)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["OUTCOMES", "RouterMetrics"]

OUTCOMES = ("delivered", "invalid", "rejected")
_POST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class RouterMetrics:
    """Alerts by outcome, Alertmanager requests by result, delays, the active set."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.alerts = Counter(
            "cxpulse_router_alerts",
            "Alerts read from the alerts topic, by outcome: delivered (accepted by Alertmanager), invalid (not an "
            "alert; skipped), rejected (Alertmanager refused it as malformed; skipped).",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.posts = Counter(
            "cxpulse_router_posts", "Requests to Alertmanager's /api/v2/alerts, by result (accepted, failed, "
            "rejected).", ["result"], registry=registry,
        )  # fmt: skip
        self.post_seconds = Histogram("cxpulse_router_post_duration_seconds", "Time of one request to Alertmanager.",
                                      buckets=_POST_BUCKETS, registry=registry)
        self.delay = Histogram(
            "cxpulse_router_delivery_delay_seconds",
            "Seconds from an alert's emitted_at (the worker wrote it) until Alertmanager accepted it.",
            buckets=_DELAY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.up = Gauge("cxpulse_router_alertmanager_up", "1 when the last request to Alertmanager was accepted.",
                        registry=registry)
        self.active = Gauge("cxpulse_router_active_alerts", "Delivered alerts still active, re-sent periodically.",
                            registry=registry)
        self.resends = Counter("cxpulse_router_resends", "Periodic re-sends of the active alerts.", registry=registry)
        for outcome in OUTCOMES:
            self.alerts.labels(outcome)
        for result in ("accepted", "failed", "rejected"):
            self.posts.labels(result)
