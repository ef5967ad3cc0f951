"""HTTP helpers of the ingest gateway: JSON answers, error bodies and a privacy-safe access log."""

import logging
from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

__all__ = ["AccessLogger", "KNOWN_PATHS", "SOURCES_PREFIX", "error", "json_response", "route_of"]

KNOWN_PATHS = {"/v1/events": "events", "/healthz": "healthz", "/metrics": "metrics", "/openapi.json": "openapi"}


SOURCES_PREFIX = "/v1/sources/"


def route_of(request: web.BaseRequest) -> str:
    """The route's fixed name (``other`` for any path the gateway does not serve)."""
    if request.path.startswith(SOURCES_PREFIX):
        return "sources"
    return KNOWN_PATHS.get(request.path, "other")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer serialised with orjson."""
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type="application/json")


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error answer: ``{"error": code, "detail": detail}``; ``detail`` never quotes the request."""
    return json_response({"error": code, "detail": detail}, status, headers)


class AccessLogger(AbstractAccessLogger):
    """One line per request at INFO: method, route, status, size and time; no query, headers or body."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path if request.path in KNOWN_PATHS else "/v1/sources/{name}" if request.path.startswith(SOURCES_PREFIX) else "<other>"
        self.logger.info(
            '%s "%s %s" %s %s %.1fms',
            request.remote, request.method, path, response.status, response.body_length, time * 1000,
        )  # fmt: skip

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
