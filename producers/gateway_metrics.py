"""Prometheus metrics of the ingest gateway, in a registry the caller passes in.

Labels are bounded and carry no customer data: the route (a fixed set), the HTTP
status and the outcome of an event.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["GatewayMetrics", "ROUTES"]

ROUTES = ("events", "sources", "healthz", "metrics", "openapi", "other")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    """Requests by route and status, events by outcome, request latency, Kafka readiness."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "cxpulse_gateway_requests", "HTTP requests answered, by route and status.", ["route", "status"],
            registry=registry,
        )  # fmt: skip
        self.events = Counter(
            "cxpulse_gateway_events",
            "Events received, by outcome: accepted (written to Kafka), duplicate (accepted before, not "
            "written again), rejected (invalid), unavailable (Kafka did not acknowledge; the client got 503).",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "cxpulse_gateway_request_seconds", "Time to answer a request, by route.", ["route"],
            buckets=_LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            "cxpulse_gateway_requests_in_flight", "POST /v1/events requests being handled now.", registry=registry
        )
        self.connections_refused = Counter(
            "cxpulse_gateway_connections_refused",
            "Connections answered 503 and closed at once: gateway.max_connections were open.", registry=registry,
        )  # fmt: skip
        self.kafka_ready = Gauge(
            "cxpulse_gateway_kafka_ready", "1 when the gateway's Kafka producer is connected.", registry=registry
        )
        # Present from the start, so that rate() works at once.
        self.outcomes = {name: self.events.labels(name) for name in ("accepted", "duplicate", "rejected", "unavailable")}
        self.source_records = Counter(
            "cxpulse_gateway_source_records",
            "Records received at POST /v1/sources/{name}, by source and outcome: mapped (to events), ignored "
            "(the mapping skips them), unmappable (dead-lettered with the reason).",
            ["source", "outcome"], registry=registry,
        )  # fmt: skip
        self._children: dict[tuple[str, int], tuple] = {}

    def answered(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (route, status)
        children = self._children.get(key)
        if children is None:  # labels() costs a lock and a lookup: keep the children (bounded: routes x statuses)
            children = self._children[key] = (self.requests.labels(route, str(status)), self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)
