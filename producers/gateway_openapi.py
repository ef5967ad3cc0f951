"""The OpenAPI 3.1 document of the ingest gateway (served at ``/openapi.json``).

Written by hand so that it says exactly what the handlers do; the tests validate every
answer they get against it. The request body is deliberately loose (any object, or an
array of anything): an item that breaks the event contract is *rejected in the 202
answer*, not refused with 400. The event contract itself is ``components.schemas.Event``.
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any

from cxpulse import __version__
from cxpulse.producers.settings import GatewaySettings

__all__ = ["openapi_document"]

_ERROR_CODES = {
    "400": "The body is not JSON, not an object or array, an empty array, or an array over the batch limit.",
    "401": "No bearer token, or one the gateway does not know.",
    "403": "The token is known but may not send events (revoked, or without the ingest scope).",
    "408": "The body did not arrive within `body_timeout_seconds`; the connection is closed.",
    "413": "The body is larger than the configured limit.",
    "429": "This token sent more events than its rate limit allows, or this client address sent too many "
    "requests without a valid token; retry after `Retry-After` seconds.",
    "503": "Kafka is unavailable or did not acknowledge in time: no event of the request is confirmed. "
    "Send the same request again after `Retry-After` seconds (retries are de-duplicated by event_id).",
}


@cache
def _event_schema() -> dict[str, Any]:
    return json.loads(files("cxpulse.schemas").joinpath("json/event.schema.json").read_text("utf-8"))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if headers:
        response["headers"] = headers
    return response


def _retry_after() -> dict[str, Any]:
    return {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def _schemas(limits: GatewaySettings) -> dict[str, Any]:
    field_error = {
        "type": "object", "additionalProperties": False, "required": ["field", "reason"],
        "properties": {
            "field": {"type": "string", "description": "Dotted path of the field, or `event` for the whole item."},
            "reason": {"type": "string", "description": "The rule it broke (never the value)."},
        },
    }  # fmt: skip
    item = {
        "type": "object", "additionalProperties": False, "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "Position in the request (0 for one event)."},
            "status": {"enum": ["accepted", "rejected"]},
            "duplicate": {"type": "boolean", "description": "Accepted before (same customer_id and event_id); not written again."},
            "errors": {"type": "array", "minItems": 1, "items": _ref("FieldError")},
        },
    }  # fmt: skip
    report = {
        "type": "object", "additionalProperties": False, "required": ["accepted", "rejected", "results"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": _ref("ItemResult")},
        },
    }  # fmt: skip
    error = {
        "type": "object", "additionalProperties": False, "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    }  # fmt: skip
    body = {
        "description": f"One event (a JSON object) or an array of 1..{limits.max_batch_events} events. "
        "Each item is checked against `Event`; one that does not match is rejected in the answer.",
        "oneOf": [
            {"type": "object"},
            {"type": "array", "minItems": 1, "maxItems": limits.max_batch_events},
        ],
    }
    health = {
        "type": "object", "additionalProperties": False, "required": ["status", "kafka"],
        "properties": {"status": {"enum": ["ok", "unavailable"]}, "kafka": {"enum": ["ok", "unreachable"]}},
    }  # fmt: skip
    return {"Event": _event_schema(), "EventBatch": body, "FieldError": field_error, "ItemResult": item,
            "IngestReport": report, "Error": error, "Health": health}  # fmt: skip


def _post_events(limits: GatewaySettings) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "202": {
            "description": "Every accepted item is acknowledged by Kafka (acks=all); rejected items say why.",
            "content": {"application/json": {"schema": _ref("IngestReport")}},
        },
    }
    for code, description in _ERROR_CODES.items():
        headers = _retry_after() if code in ("429", "503") else None
        if code == "401":
            headers = {"WWW-Authenticate": {"description": "`Bearer realm=\"cxpulse\"`", "schema": {"type": "string"}}}
        responses[code] = _error_response(description, headers)
    return {
        "operationId": "postEvents",
        "summary": "Send one event or a batch of events",
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "description": f"At most {limits.max_body_bytes} bytes.",
            "content": {"application/json": {"schema": _ref("EventBatch")}},
        },
        "responses": responses,
    }


_STRANGERS = "This client address sent too many requests without a valid token; retry after `Retry-After` seconds."


def _open(responses: dict[str, Any]) -> dict[str, Any]:
    """The answers of a route without a token, and the per-address limit those routes share."""
    return {**responses, "429": _error_response(_STRANGERS, _retry_after())}


def openapi_document(limits: GatewaySettings) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with this gateway's limits in it."""
    from .gateway_sources_openapi import source_paths, source_schemas

    json_of = lambda name: {"application/json": {"schema": _ref(name)}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cxpulse ingest gateway",
            "version": __version__,
            "description": "Customer-contact events over HTTP into Kafka (`cx.events`, key = customer_id).",
        },
        "paths": {
            "/v1/events": {"post": _post_events(limits)},
            **source_paths(limits),
            "/healthz": {"get": {
                "operationId": "getHealth", "summary": "Kafka reachability",
                "responses": _open({"200": {"description": "Kafka answers and the events topic exists.", "content": json_of("Health")},
                                    "503": {"description": "Kafka is unreachable.", "content": json_of("Health")}}),
            }},
            "/metrics": {"get": {
                "operationId": "getMetrics", "summary": "Prometheus metrics",
                "responses": _open({"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}}),
            }},
            "/openapi.json": {"get": {
                "operationId": "getOpenapi", "summary": "This document",
                "responses": _open({"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}}),
            }},
        },  # fmt: skip
        "components": {
            "schemas": {**_schemas(limits), **source_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
