"""The HTTP ingest gateway: ``POST /v1/events`` validates events and writes them to Kafka.

Contact-centre and helpdesk systems push webhooks rather than speak Kafka. The gateway
takes one event (a JSON object) or a batch (a JSON array), checks each item with the
same :func:`cxpulse.schemas.parse_event` a consumer uses, writes the valid ones to
``cx.events`` (key = ``customer_id``, ``acks=all``, idempotent producer), waits for the
broker's acknowledgement and answers ``202`` with one result per item. Kafka down or a
delivery not acknowledged in time -> ``503`` (never a silent accept).

In order: authentication (401/403; requests without a valid token are also limited per
client address: 429), size (413), rate limit (429 + ``Retry-After``), the body within
``body_timeout_seconds`` (408), body shape (400), validation (per item), delivery (503). ``docs/gateway.md`` is the
user's guide; :mod:`cxpulse.producers.gateway_openapi` the machine-readable contract.

    app = create_app(settings)              # or create_app(settings, writer=..., registry=...)
    web.run_app(app, host=..., port=...)
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from cxpulse.settings import Settings

from .gateway_auth import AuthOutcome, TokenRegistry
from .gateway_http import error, json_response, route_of
from .gateway_kafka import KafkaUnavailable, KafkaWriter
from .gateway_metrics import GatewayMetrics
from .gateway_openapi import openapi_document
from .gateway_server import server_header
from .gateway_sources import add_source_routes
from .intake import Accepted, BadBody, Rejected, check_item, decode_body
from .ratelimit import RateLimiter, retry_after
from .recent import RecentIds

__all__ = ["GATEWAY", "EventWriter", "Gateway", "create_app"]

log = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE = 5
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="cxpulse"'}
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="cxpulse", error="invalid_token"'}


class EventWriter(Protocol):
    """Where accepted events go (``KafkaWriter``; a test may pass another)."""

    @property
    def ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def write(self, records: Sequence[tuple[bytes | None, bytes]], topic: str | None = None) -> None: ...

    async def healthy(self) -> bool: ...

    async def stop(self) -> None: ...


class Gateway:
    """The request handlers and the state they share (tokens, buckets, recent ids, metrics)."""

    def __init__(self, settings: Settings, writer: EventWriter, metrics: GatewayMetrics,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.settings = settings
        self.limits = settings.gateway
        self.writer = writer
        self.metrics = metrics
        self.tokens = TokenRegistry(self.limits.tokens)
        self.limiter = RateLimiter(self.limits.rate_limit_events_per_second, self.limits.rate_limit_burst)
        # Requests without a valid token, by client address (a token's bucket needs a known token).
        self.strangers = RateLimiter(self.limits.unauthenticated_per_second, self.limits.unauthenticated_burst,
                                     max_callers=self.limits.unauthenticated_addresses)  # fmt: skip
        self.recent = RecentIds(self.limits.dedup_cache_size)
        self._clock = clock

    async def post_events(self, request: web.Request,
                          ingest: Callable[[list], Awaitable[web.Response]] | None = None) -> web.Response:  # fmt: skip
        """``POST /v1/events``: see the module docstring. ``ingest`` takes the decoded items instead
        (``POST /v1/sources/{name}``, :mod:`cxpulse.producers.gateway_sources`): same checks before it."""
        auth = self.tokens.authenticate(request.headers.get("Authorization"))
        if auth.outcome is not AuthOutcome.ALLOWED and (wait := self.stranger_waits(request)):
            return self.strangers_limited(wait)
        if auth.outcome is AuthOutcome.MISSING:
            return error(401, "unauthorized", "a bearer token is required", _UNAUTHORIZED)
        if auth.outcome is AuthOutcome.UNKNOWN:
            return error(401, "unauthorized", "the bearer token is not valid", _INVALID_TOKEN)
        if auth.outcome is AuthOutcome.FORBIDDEN or auth.name is None:
            log.info("refused token %r: revoked or without the ingest scope", auth.name)
            return error(403, "forbidden", "this token may not send events")
        caller = auth.name
        if request.content_length is not None and request.content_length > self.limits.max_body_bytes:
            return self._too_large()
        if not self.limiter.available(caller):
            return self._rate_limited(self.limiter.take(caller, 1))
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        except TimeoutError:
            return self._body_too_slow()
        try:
            items = decode_body(body, self.limits.max_batch_events)
        except BadBody as exc:
            self.limiter.take(caller, 1)
            return error(400, "bad_request", exc.reason)
        wait = self.limiter.take(caller, len(items))
        if wait:
            return self._rate_limited(wait)
        return await (ingest or self._ingest)(items)

    async def _ingest(self, items: list) -> web.Response:
        now, max_future = self._clock(), self.settings.validation.max_future_seconds
        results = [check_item(index, item, now, max_future) for index, item in enumerate(items)]
        fresh, duplicates = self._split_duplicates(results)
        try:
            if fresh:
                await self.writer.write([(item.key, item.value) for item in fresh])
        except KafkaUnavailable as exc:
            log.warning("answering 503 to a batch of %d: Kafka unavailable (%s)", len(items), exc)
            self.metrics.outcomes["unavailable"].inc(len(fresh))
            return error(503, "unavailable", "Kafka is unavailable: no event of this request is "
                         "confirmed; send it again later", {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})  # fmt: skip
        self.recent.add(item.identity for item in fresh)
        return json_response(self._report(results, fresh, duplicates), 202)

    def _split_duplicates(self, results: list[Accepted | Rejected]) -> tuple[list[Accepted], set[int]]:
        fresh: list[Accepted] = []
        duplicates: set[int] = set()
        seen: set[tuple[str, str]] = set()
        for result in results:
            if not isinstance(result, Accepted):
                continue
            if result.identity in seen or result.identity in self.recent:
                duplicates.add(result.index)
            else:
                seen.add(result.identity)
                fresh.append(result)
        return fresh, duplicates

    def _report(self, results: list[Accepted | Rejected], fresh: list[Accepted], duplicates: set[int]) -> dict:
        rejected = [result for result in results if isinstance(result, Rejected)]
        outcomes = self.metrics.outcomes
        outcomes["accepted"].inc(len(fresh))
        outcomes["duplicate"].inc(len(duplicates))
        outcomes["rejected"].inc(len(rejected))
        if rejected:
            log.debug("rejected %d of %d events", len(rejected), len(results))
        return {
            "accepted": len(results) - len(rejected),
            "rejected": len(rejected),
            "results": [_item_report(result, result.index in duplicates) for result in results],
        }

    def stranger_waits(self, request: web.BaseRequest) -> float:
        """Charge the client address for a request without a valid token; the seconds to wait, or 0."""
        return self.strangers.take(request.remote or "unknown", 1)

    def strangers_limited(self, wait: float) -> web.Response:
        """429 for an address that sent too many requests without a valid token; the connection closes."""
        seconds = retry_after(wait)
        response = error(429, "rate_limited", "too many requests without a valid token from this address; "
                         f"retry after {seconds} s", {"Retry-After": str(seconds)})  # fmt: skip
        response.force_close()
        return response

    def _body_too_slow(self) -> web.Response:
        response = error(408, "timeout", f"the body did not arrive within {self.limits.body_timeout_seconds:g} s")
        response.force_close()
        return response

    def _too_large(self) -> web.Response:
        return error(413, "too_large", f"the body exceeds {self.limits.max_body_bytes} bytes")

    def _rate_limited(self, wait: float) -> web.Response:
        seconds = retry_after(wait)
        return error(429, "rate_limited", f"too many events for this token; retry after {seconds} s",
                     {"Retry-After": str(seconds)})  # fmt: skip

    async def healthz(self, request: web.Request) -> web.Response:
        """``GET /healthz``: 200 when Kafka answers and the events topic exists, else 503."""
        healthy = await self.writer.healthy()
        self.metrics.kafka_ready.set(1 if self.writer.ready else 0)
        body = {"status": "ok" if healthy else "unavailable", "kafka": "ok" if healthy else "unreachable"}
        return json_response(body, 200 if healthy else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """``GET /metrics``: Prometheus text format."""
        self.metrics.kafka_ready.set(1 if self.writer.ready else 0)
        response = web.Response(body=generate_latest(self.metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def openapi(self, request: web.Request) -> web.Response:
        """``GET /openapi.json``: the OpenAPI 3.1 document of this gateway and its limits."""
        return json_response(openapi_document(self.limits))


def _item_report(result: Accepted | Rejected, duplicate: bool) -> dict:
    if isinstance(result, Rejected):
        errors = [{"field": problem.field, "reason": problem.reason} for problem in result.errors]
        return {"index": result.index, "status": "rejected", "errors": errors}
    report: dict = {"index": result.index, "status": "accepted"}
    if duplicate:
        report["duplicate"] = True
    return report


GATEWAY = web.AppKey("gateway", Gateway)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


CLIENT_CLOSED = 499  # the client went away before its answer (nginx's code): counted, never sent
# Routes that take no token: every request to them counts against its address. A route with a
# token (POST /v1/events) is charged in its handler, and only when the token is not valid.
OPEN_ROUTES = frozenset({"healthz", "metrics", "openapi", "other"})


def _middleware(metrics: GatewayMetrics, gateway: "Gateway") -> Callable:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        began, route = time.perf_counter(), route_of(request)
        if route in OPEN_ROUTES and (wait := gateway.stranger_waits(request)):
            response: web.StreamResponse = gateway.strangers_limited(wait)
            metrics.answered(route, response.status, time.perf_counter() - began)
            return response
        if route == "events":
            metrics.in_flight.inc()
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 404, 405, ... as JSON like every other error
            response = error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason, _allow(exc))
        except ConnectionError:  # the client closed the connection while its body was read: not our error
            log.debug("client closed the connection before its answer")
            response = web.Response(status=CLIENT_CLOSED)
        except Exception as exc:  # a bug: answer 500, log the type only (messages may quote data)
            log.error("unexpected %s while answering %s", type(exc).__name__, route)
            log.debug("unexpected error", exc_info=True)
            response = error(500, "internal_error", "the gateway failed to handle the request")
        finally:
            if route == "events":
                metrics.in_flight.dec()
        metrics.answered(route, response.status, time.perf_counter() - began)
        return response

    return observe


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


def create_app(settings: Settings, *, writer: EventWriter | None = None,
               registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time) -> web.Application:  # fmt: skip
    """The gateway as an aiohttp application; the writer starts and stops with it."""
    metrics = GatewayMetrics(registry if registry is not None else CollectorRegistry())
    gateway = Gateway(settings, writer or KafkaWriter(settings), metrics, clock)
    app = web.Application(client_max_size=settings.gateway.max_body_bytes, middlewares=[_middleware(metrics, gateway)])
    app.on_response_prepare.append(server_header)
    app.router.add_post("/v1/events", gateway.post_events)
    app.router.add_get("/healthz", gateway.healthz, allow_head=False)
    app.router.add_get("/metrics", gateway.metrics_page, allow_head=False)
    app.router.add_get("/openapi.json", gateway.openapi, allow_head=False)
    app[GATEWAY] = gateway
    add_source_routes(app, gateway)

    async def start_writer(_: web.Application) -> None:
        await gateway.writer.start()

    async def stop_writer(_: web.Application) -> None:
        await gateway.writer.stop()  # after in-flight requests finished (aiohttp's shutdown order)

    app.on_startup.append(start_writer)
    app.on_cleanup.append(stop_writer)
    return app
