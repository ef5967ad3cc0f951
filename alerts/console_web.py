"""``cxpulse console serve``: the supervisor's console in the browser (aiohttp, one process).

It reads the alerts and agent-warnings topics (:mod:`.console_feed`) into a
:class:`~cxpulse.alerts.cards.Board`, reads Alertmanager's view of every alert and its
silences every ``[console] alertmanager_poll_seconds``, and serves:

- ``GET /``: the page (``alerts/web/``: plain HTML, CSS and JavaScript, no build step);
- ``GET /api/stream?severity=&segment=&service_type=&receiver=&state=&q=``: server-sent
  events, one ``board`` event per change (at most one per ``push_interval_seconds``): the
  order of the cards that pass the filters, the cards that changed since the last event,
  the keys that left, the filter counts and the status;
- ``GET /api/cards?...``: the same view once, as JSON;
- ``GET /api/customers/{id}/timeline``: the customer's timeline, exactly what
  ``cxpulse customer ID --json`` prints (:mod:`cxpulse.processors.replay.timeline`);
- ``POST /api/cards/{key}/acknowledge``, ``POST /api/cards/{key}/silence``,
  ``DELETE /api/silences/{id}``: Alertmanager silences (:mod:`.silences`);
- ``GET /healthz``.

Customer data is served, so by default it listens on loopback and answers only requests
addressed to a loopback name (no DNS rebinding). Bound elsewhere (or with
``[console] require_token``) every ``/api`` request needs ``Authorization: Bearer`` with a
token of ``[gateway] tokens`` that has the ``console`` scope. Requests that change
something must be JSON and come from the console's own origin.
"""

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

from .alertmanager import AlertmanagerClient, DeliveryError
from .cards import Board, CardFilter
from .console_feed import KafkaFeed
from .silences import acknowledge_silence, silence_for

__all__ = ["CONSOLE", "DEFAULT_WARNINGS_TOPIC", "ConsoleServer", "token_required", "warnings_topic", "web_root"]

log = logging.getLogger(__name__)

DEFAULT_WARNINGS_TOPIC = "cx.agent-warnings"
WHO = web.RequestKey("who", str)  # the name of the token a request came with
HEARTBEAT_SECONDS = 15.0
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_MIN_SILENCE, _MAX_SILENCE = 60.0, 30 * 86400.0
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
}


def warnings_topic(settings: Settings) -> str:
    """The agent-warnings topic the workers write: ``[topics] warnings`` (``cx.agent-warnings``)."""
    return settings.topics.warnings or DEFAULT_WARNINGS_TOPIC


def web_root() -> Path:
    """The folder of the page's files (package data)."""
    return Path(str(resources.files("cxpulse.alerts") / "web"))


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_required(settings: Settings) -> bool:
    """Whether ``/api`` needs a bearer token: ``[console] require_token``, else when not on loopback."""
    console = settings.console
    return console.require_token if console.require_token is not None else not _is_loopback(console.host)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _error(status: int, code: str, detail: str) -> web.Response:
    return _json({"error": code, "detail": detail}, status)


class ConsoleServer:
    """The console's state (board, feed, Alertmanager's view) and its request handlers."""

    def __init__(self, settings: Settings, warnings: str | None = None,
                 clock: Callable[[], float] = time.time, background: bool = True) -> None:
        """``background``: start the feed and the pollers with the app (off in unit tests,
        which feed :meth:`record` and :meth:`poll_alertmanager` themselves)."""
        self.settings = settings
        self.background = background
        self.console = settings.console
        self.clock = clock
        self.board = Board(settings.alerts.resolve_timeout_seconds, self.console.warning_seconds)
        self.alerts_topic = settings.topics.alerts
        self.warnings_topic = warnings or warnings_topic(settings)
        self.feed = KafkaFeed(settings.kafka, [self.alerts_topic, self.warnings_topic], self.console.lookback_seconds,
                              self.record, self._status_changed)
        self.alertmanager = AlertmanagerClient(settings.alerts.alertmanager_url, settings.alerts.request_timeout_seconds)
        self.am_state = {"state": "connecting", "detail": ""}
        self.protected = token_required(settings)
        self.tokens = None
        if self.protected:
            from cxpulse.producers.gateway_auth import TokenRegistry

            self.tokens = TokenRegistry(settings.gateway.tokens, scope="console")
            if not any("console" in t.scopes and not t.revoked for t in settings.gateway.tokens):
                raise CxpulseError("the console needs a token: bound to a non-loopback address it requires one with "
                                   'the "console" scope in [gateway] tokens (docs/operations.md)')
        self._pulse = asyncio.Event()
        self._status_version = 0
        self._stop = asyncio.Event()
        self._timelines = asyncio.Semaphore(self.console.timeline_concurrency)
        self._tasks: list[asyncio.Task] = []

    # -- the app ---------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application; its start-up starts the feed and the pollers."""
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app[CONSOLE] = self
        root = web_root()
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", root, show_index=False)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/api/status", self.status_page)
        app.router.add_get("/api/cards", self.cards)
        app.router.add_get("/api/stream", self.stream)
        app.router.add_get("/api/customers/{customer_id}/timeline", self.timeline)
        app.router.add_post("/api/cards/{key}/acknowledge", self.acknowledge)
        app.router.add_post("/api/cards/{key}/silence", self.silence)
        app.router.add_delete("/api/silences/{silence_id}", self.lift)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _start(self, app: web.Application) -> None:
        self._pulse = asyncio.Event()  # bound to the serving loop
        self._stop = asyncio.Event()
        if not self.background:
            return
        self._tasks = [asyncio.create_task(self.feed.run(self._stop), name="console-feed"),
                       asyncio.create_task(self._alertmanager_loop(), name="console-alertmanager"),
                       asyncio.create_task(self._expire_loop(), name="console-expiry")]

    async def _cleanup(self, app: web.Application) -> None:
        self._stop.set()
        self._changed()  # wake the streams: they end
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- what changes ----------------------------------------------------------------

    def record(self, topic: str, value: dict[str, Any]) -> None:
        """One record of the alerts or the warnings topic."""
        now = self.clock()
        key = (self.board.add_alert(value, now) if topic == self.alerts_topic
               else self.board.add_warning(value, now))
        if key is not None:
            self._changed()

    def _status_changed(self) -> None:
        self._status_version += 1
        self._changed()

    def _changed(self) -> None:
        pulse, self._pulse = self._pulse, asyncio.Event()
        pulse.set()

    def _version(self) -> tuple[int, int]:
        return self.board.version, self._status_version

    def status(self) -> dict[str, Any]:
        feed = self.feed.status.as_dict()
        return {"kafka": feed, "alertmanager": dict(self.am_state, url=self.settings.alerts.alertmanager_url),
                "topics": {"alerts": self.alerts_topic, "warnings": self.warnings_topic},
                "acknowledge_seconds": self.console.acknowledge_seconds,
                "silence_seconds": self.console.silence_seconds, "now": self.clock()}

    async def _alertmanager_loop(self) -> None:
        while not self._stop.is_set():
            await self.poll_alertmanager()
            try:
                await asyncio.wait_for(self._stop.wait(), self.console.alertmanager_poll_seconds)
            except TimeoutError:
                pass

    async def poll_alertmanager(self) -> None:
        """Read Alertmanager's alerts and silences once and apply them to the board."""
        try:
            alerts, silences = await asyncio.to_thread(self._read_alertmanager)
        except DeliveryError as exc:
            self._set_am("unreachable", str(exc)[:300])
            return
        changed = self.board.apply_alertmanager(alerts, silences, self.clock())
        self._set_am("ok", "")
        if changed:
            self._changed()

    def _read_alertmanager(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return self.alertmanager.alerts(), self.alertmanager.silences()

    def _set_am(self, state: str, detail: str) -> None:
        if (self.am_state["state"], self.am_state["detail"]) != (state, detail):
            self.am_state = {"state": state, "detail": detail}
            self._status_changed()

    async def _expire_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), 5.0)
            except TimeoutError:
                pass
            if self.board.expire(self.clock()):
                self._changed()

    # -- requests --------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        if not response.prepared:
            response.headers.update(_SECURITY_HEADERS)
        return response

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Who may ask what (see the module docstring); ``None``: go on."""
        host = urlsplit("//" + (request.host or "")).hostname or ""
        if not self.protected and not _is_loopback(host):
            return _error(403, "forbidden", "this console answers requests to a loopback address only")
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin is not None and origin.split("://", 1)[-1] != request.host:
                return _error(403, "forbidden", "cross-origin request refused")
            if request.content_type != "application/json":
                return _error(415, "unsupported_media_type", "send JSON (Content-Type: application/json)")
        if self.tokens is not None and request.path.startswith("/api/"):
            from cxpulse.producers.gateway_auth import AuthOutcome

            auth = self.tokens.authenticate(request.headers.get("Authorization"))
            if auth.outcome in (AuthOutcome.MISSING, AuthOutcome.UNKNOWN):
                response = _error(401, "unauthorized", "a bearer token with the console scope is required")
                response.headers["WWW-Authenticate"] = 'Bearer realm="cxpulse-console"'
                return response
            if auth.outcome is AuthOutcome.FORBIDDEN:
                return _error(403, "forbidden", "this token may not use the console")
            if auth.name is not None:  # always, for an allowed token
                request[WHO] = auth.name
        return None

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(web_root() / "index.html", headers={"Cache-Control": "no-store"})

    async def healthz(self, request: web.Request) -> web.Response:
        live = self.feed.status.kafka == "live"
        return _json({"status": "ok" if live else self.feed.status.kafka, "alertmanager": self.am_state["state"]},
                     200 if live else 503)

    async def status_page(self, request: web.Request) -> web.Response:
        return _json(self.status())

    def _filter(self, request: web.Request) -> CardFilter:
        query = request.query
        try:
            return CardFilter.of(query.getall("receiver", []), query.getall("severity", []),
                                 query.getall("segment", []), query.getall("service_type", []),
                                 query.getall("state", []), query.get("q", ""))
        except CxpulseError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None

    async def cards(self, request: web.Request) -> web.Response:
        view = self.board.view(self._filter(request), self.clock(), self.console.max_cards)
        return _json({"cards": view.cards, "matched": view.matched, "total": view.total, "facets": view.facets,
                      "status": self.status()})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: a ``board`` event with what changed, as often as it changes."""
        wanted = self._filter(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no", **_SECURITY_HEADERS})
        await response.prepare(request)
        sent: dict[str, int] = {}
        last: tuple[int, int] | None = None
        try:
            while not self._stop.is_set():
                pulse = self._pulse
                if self._version() != last:
                    message = self._message(wanted, sent, reset=last is None)
                    last = self._version()
                    await response.write(b"event: board\ndata: " + orjson.dumps(message) + b"\n\n")
                    await asyncio.sleep(self.console.push_interval_seconds)  # coalesce bursts
                    continue
                try:
                    await asyncio.wait_for(pulse.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, ConnectionError):
            pass  # the browser went away
        return response

    def _message(self, wanted: CardFilter, sent: dict[str, int], reset: bool) -> dict[str, Any]:
        view = self.board.view(wanted, self.clock(), self.console.max_cards)
        order = [card["key"] for card in view.cards]
        changed = [card for card in view.cards if sent.get(card["key"]) != card["version"]]
        removed = [key for key in sent if key not in set(order)]
        for key in removed:
            del sent[key]
        for card in changed:
            sent[card["key"]] = card["version"]
        return {"reset": reset, "order": order, "cards": changed, "removed": removed, "matched": view.matched,
                "total": view.total, "facets": view.facets, "status": self.status()}

    async def timeline(self, request: web.Request) -> web.Response:
        """The customer's timeline from the events topic (the same as ``cxpulse customer ID --json``)."""
        customer_id = request.match_info["customer_id"]
        if not _CUSTOMER_ID.fullmatch(customer_id):
            return _error(400, "bad_request", "not a customer id (1-64 of A-Z a-z 0-9 . _ : -)")
        async with self._timelines:
            try:
                data = await asyncio.to_thread(customer_timeline, self.settings, customer_id)
            except CxpulseError as exc:
                return _error(503, "unavailable", str(exc)[:300])
        data["card"] = self.board.card(customer_id)
        return _json(data)

    async def acknowledge(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        body = await _body(request)
        alert_ids = self.board.alert_ids(key)
        if not alert_ids:
            return _error(404, "not_found", "no open alerts on this card")
        silence = acknowledge_silence(key, alert_ids, datetime.now(UTC), self.console.acknowledge_seconds,
                                      request.get(WHO), str(body.get("note") or ""))
        return await self._post_silence(silence)

    async def silence(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        body = await _body(request)
        if self.board.card(key) is None:
            return _error(404, "not_found", "no such card")
        seconds = body.get("seconds", self.console.silence_seconds)
        if not isinstance(seconds, (int, float)) or not _MIN_SILENCE <= seconds <= _MAX_SILENCE:
            return _error(400, "bad_request", "seconds: a number from 60 to 2592000 (30 days)")
        silence = silence_for(key, datetime.now(UTC), float(seconds), request.get(WHO), str(body.get("note") or ""))
        return await self._post_silence(silence)

    async def _post_silence(self, silence: dict[str, Any]) -> web.Response:
        try:
            silence_id = await asyncio.to_thread(self.alertmanager.post_silence, silence)
        except DeliveryError as exc:
            return _error(502, "alertmanager", str(exc)[:300])
        log.info("silence %s created by %s", silence_id, silence["createdBy"])
        await self.poll_alertmanager()  # the card shows it at once
        return _json({"silence_id": silence_id, "ends_at": silence["endsAt"]}, 201)

    async def lift(self, request: web.Request) -> web.Response:
        silence_id = request.match_info["silence_id"]
        if not re.fullmatch(r"[0-9a-fA-F-]{8,64}", silence_id):
            return _error(400, "bad_request", "not a silence id")
        try:
            await asyncio.to_thread(self.alertmanager.expire_silence, silence_id)
        except DeliveryError as exc:
            return _error(502, "alertmanager", str(exc)[:300])
        await self.poll_alertmanager()
        return _json({"expired": silence_id})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=orjson.loads)
    except (ValueError, orjson.JSONDecodeError):
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body


def customer_timeline(settings: Settings, customer_id: str) -> dict[str, Any]:
    """The timeline of ``cxpulse customer ID --json`` (replayed from the events topic), with
    each row's event described as the terminal table describes it."""
    from cxpulse.processors.replay.ranges import merge_partitions
    from cxpulse.processors.replay.sources import open_kafka
    from cxpulse.processors.replay.timeline import TimelineBuilder
    from cxpulse.processors.replay.timeline_view import describe_event, timeline_json

    builder = TimelineBuilder(settings.engine, customer_id, settings.validation.max_future_seconds)
    opened = open_kafka(settings, settings.topics.events, None, None, customer_id.encode("utf-8"), lambda n: None)
    try:
        timeline = builder.build(merge_partitions(opened.streams))
    finally:
        opened.close()
    data = timeline_json(timeline, timeline.rows, opened.description, None, None)
    for shown, row in zip(data["rows"], timeline.rows, strict=True):
        if row.event is not None:
            shown["what"], shown["details"] = describe_event(row.event)
    return data


CONSOLE = web.AppKey("console", ConsoleServer)
