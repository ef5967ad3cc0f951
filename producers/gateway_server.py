"""The gateway's HTTP server: aiohttp's, minus what leaks or lets a slow client hold on.

aiohttp answers a request its parser refuses with the parser's message — which quotes the
offending bytes, e.g. a bearer token followed by a stray CR — in a ``text/plain`` 400 body,
and logs it with a traceback at ERROR. :class:`GatewayRequestHandler` answers such requests
(and any error outside the application's middleware) with a fixed JSON body, and logs one
line naming the status and the exception's type only: nothing of a request's headers or
body reaches a log or an answer, whatever the parser says.

It also closes what a slow or greedy client holds: a request head must be complete within
``header_timeout_seconds`` (aiohttp's keep-alive timer, which also runs from the moment a
connection opens), and beyond ``max_connections`` open connections a new one is answered
503 and closed at once. Every answer says ``Server: cxpulse``, no versions.

    serve(create_app(settings), settings.gateway, host, port, announce=..., loop=uvloop.new_event_loop())
"""

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server
from cxpulse.producers.settings import GatewaySettings

__all__ = ["SERVER_NAME", "GatewayRequestHandler", "GatewayRunner", "GatewayServer", "ServerHooks", "runner_for",
           "serve", "server_header"]

log = logging.getLogger(__name__)

SERVER_NAME = "cxpulse"

_TITLES = {400: ("bad_request", "the request is not valid HTTP"), 408: ("timeout", "the request took too long"),
           413: ("too_large", "the request head is too large"), 503: ("unavailable", "the gateway is busy"),
           504: ("timeout", "the request took too long")}  # fmt: skip
_INTERNAL = ("internal_error", "the gateway failed to handle the request")


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class ServerHooks:
    """Called for what the application never sees: a refused connection, an error answer (its status)."""

    refused: Callable[[], None] = _nothing
    answered_error: Callable[[int], None] = _nothing


def _body(status: int) -> bytes:
    code, detail = _TITLES.get(status, _INTERNAL if status >= 500 else ("bad_request", "the request was refused"))
    return orjson.dumps({"error": code, "detail": detail})


def _busy_answer() -> bytes:
    body = orjson.dumps({"error": "unavailable", "detail": "too many connections; retry later"})
    head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nServer: {SERVER_NAME}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


class GatewayRequestHandler(RequestHandler):
    """aiohttp's connection handler with error answers and logs that quote nothing of the request."""

    def __init__(self, manager: "GatewayServer", **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gateway = manager

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._gateway.full():
            self._gateway.refused()
            transport.write(_busy_answer())  # type: ignore[attr-defined]
            transport.close()
            self._manager = None  # so that connection_lost does nothing: this one never started
            return
        super().connection_made(transport)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:  # fmt: skip
        """A fixed JSON answer; one log line with the status and the exception's type, never its message."""
        kind = type(exc).__name__ if exc is not None else "no exception"
        self._gateway.hooks.answered_error(status)
        if status >= 500:
            log.error("answered %d: %s outside the request handlers", status, kind)
        else:
            log.info("answered %d to a request the HTTP parser refused (%s)", status, kind)
        if request.writer.output_size > 0:  # part of an answer was sent: the connection is broken
            raise ConnectionError("an answer was already under way")
        response = web.Response(status=status, body=_body(status), content_type="application/json",
                                headers={"Server": SERVER_NAME})  # fmt: skip
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        # aiohttp's own messages here are fixed texts; the exception (its message may quote the
        # request) is named by type only, and no traceback is written.
        exc = kwargs.get("exc_info")
        log.error("%s (%s)", str(args[0]) if args else "error", type(exc).__name__ if exc is not None else "-")

    def log_debug(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("exc_info", None)
        super().log_debug(*args, **kwargs)


class GatewayServer(Server):
    """aiohttp's ``Server`` that makes :class:`GatewayRequestHandler` connections, at most ``max_connections``."""

    def __init__(self, handler: Any, *, max_connections: int, hooks: ServerHooks | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(handler, **kwargs)
        self.max_connections = max_connections
        self.hooks = hooks or ServerHooks()
        self._refusals = 0

    def full(self) -> bool:
        return len(self._connections) >= self.max_connections

    def refused(self) -> None:
        self._refusals += 1
        if self._refusals == 1 or not self._refusals % 1000:  # a flood must not flood the log too
            log.warning("refused a connection: %d open (gateway.max_connections); %d refused so far",
                        len(self._connections), self._refusals)  # fmt: skip
        self.hooks.refused()

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """``AppRunner`` whose server is a :class:`GatewayServer`."""

    def __init__(self, app: web.Application, limits: GatewaySettings, hooks: ServerHooks | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(app, **kwargs)
        self._limits = limits
        self._hooks = hooks

    async def _make_server(self) -> Server:
        plain = await super()._make_server()  # starts the application, as AppRunner does
        return GatewayServer(
            plain.request_handler, request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation, loop=asyncio.get_running_loop(),
            max_connections=self._limits.max_connections, hooks=self._hooks, **plain._kwargs,
        )  # fmt: skip


async def server_header(_: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: ``Server: cxpulse`` (aiohttp's default names Python's and its own version)."""
    response.headers["Server"] = SERVER_NAME


def runner_for(app: web.Application, limits: GatewaySettings, hooks: ServerHooks | None = None,
               **kwargs: Any) -> GatewayRunner:  # fmt: skip
    """A runner with the gateway's server and header timeout."""
    # lingering_time: how long aiohttp reads and drops a body it did not need (after a 401, 413 or
    # 408) so that the client sees the answer; no longer than a body may take in the first place.
    return GatewayRunner(app, limits, hooks, keepalive_timeout=limits.header_timeout_seconds,
                         lingering_time=min(10.0, limits.body_timeout_seconds),
                         shutdown_timeout=limits.shutdown_timeout_seconds, **kwargs)  # fmt: skip


async def _serve(runner: GatewayRunner, host: str, port: int, announce: Callable[[], None]) -> None:
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        announce()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()  # stops listening, lets requests in flight finish, stops the writer


def serve(app: web.Application, limits: GatewaySettings, host: str, port: int, *, announce: Callable[[], None],
          loop: asyncio.AbstractEventLoop, access_log_class: Any = None, hooks: ServerHooks | None = None) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM (what ``web.run_app`` does, with this server)."""
    extra = {"access_log_class": access_log_class} if access_log_class is not None else {}
    runner = runner_for(app, limits, hooks, **extra)
    try:
        loop.run_until_complete(_serve(runner, host, port, announce))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
