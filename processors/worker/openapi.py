"""The OpenAPI 3.1 document of the worker's web API (served at ``/openapi.json``).

Written by hand so that it says exactly what the handlers do (the integration tests
validate every answer they get against it, and ``openapi-spec-validator`` checks the
document itself). The agent brief's schema comes from its pydantic model, so the two
cannot drift.
"""

from typing import Any

from cxpulse.schemas import AgentBrief

from cxpulse import __version__

from .settings import WorkerSettings

__all__ = ["CUSTOMER_ID_PATTERN", "openapi_document"]

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(name)}}


def _brief_schemas() -> dict[str, Any]:
    schema = AgentBrief.model_json_schema(mode="serialization", ref_template=_REF)
    defs = schema.pop("$defs", {})
    return {**defs, "AgentBrief": schema}


def _time(nullable: bool = False) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "format": "date-time"}


def _customer_view() -> dict[str, Any]:
    ticket = {
        "type": "object", "additionalProperties": False,
        "required": ["ticket_id", "service_type", "due_at", "breached"],
        "properties": {"ticket_id": {"type": "string"}, "service_type": {"type": "string"},
                       "due_at": _time(True), "breached": {"type": "boolean"}},
    }  # fmt: skip
    alert = {
        "type": "object", "additionalProperties": False,
        "required": ["alert_id", "rule", "severity", "status", "service_type", "triggered_at"],
        "properties": {"alert_id": {"type": "string"}, "rule": {"type": "string"},
                       "severity": {"enum": ["info", "warning", "critical"]}, "status": {"enum": ["firing", "resolved"]},
                       "service_type": {"type": "string"}, "triggered_at": _time(True)},
    }  # fmt: skip
    return {
        "type": "object", "additionalProperties": False,
        "required": ["customer_id", "score", "risk_band", "sensitive", "sensitive_until", "segment", "events_seen",
                     "updated_at", "open_tickets", "recent_alerts"],
        "properties": {
            "customer_id": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 100},
            "risk_band": {"enum": ["healthy", "at_risk", "critical"]}, "sensitive": {"type": "boolean"},
            "sensitive_until": _time(True), "segment": {"enum": ["standard", "key", "vip", "vulnerable"]},
            "events_seen": {"type": "integer", "minimum": 0}, "updated_at": _time(),
            "open_tickets": {"type": "array", "items": ticket}, "recent_alerts": {"type": "array", "items": alert},
        },
    }  # fmt: skip


def _schemas(worker: WorkerSettings) -> dict[str, Any]:
    customer_id = {"type": "string", "pattern": CUSTOMER_ID_PATTERN}
    request = {
        "type": "object", "additionalProperties": False, "required": ["customer_ids"],
        "properties": {"customer_ids": {"type": "array", "minItems": 1, "maxItems": worker.brief_batch_max,
                                        "items": customer_id}},
    }  # fmt: skip
    result = {
        "type": "object", "additionalProperties": False, "required": ["customer_id", "status"],
        "properties": {
            "customer_id": {"type": "string"},
            "status": {"enum": ["found", "not_found", "unavailable"],
                       "description": "`unavailable`: the worker that owns the customer's partition did not answer "
                                      "(a rebalance, or it is down); ask again."},
            "brief": _ref("AgentBrief"),
        },
    }  # fmt: skip
    batch = {
        "type": "object", "additionalProperties": False, "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("BriefResult"),
                                   "description": "One per distinct customer id, in the order asked."}},
    }  # fmt: skip
    error = {
        "type": "object", "additionalProperties": False, "required": ["error"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    }  # fmt: skip
    health = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
    return {**_brief_schemas(), "CustomerView": _customer_view(), "BriefRequest": request, "BriefResult": result,
            "BriefBatch": batch, "Error": error, "Health": health}


_DENIED = {
    "401": {"description": "No bearer token, or one that is not configured.", "content": _json("Error"),
            "headers": {"WWW-Authenticate": {"description": '`Bearer realm="cxpulse"`', "schema": {"type": "string"}}}},
    "403": {"description": "The token is revoked or lacks the `read` scope.", "content": _json("Error")},
}


def _customer_param() -> dict[str, Any]:
    return {"name": "customer_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": CUSTOMER_ID_PATTERN}}


def _read(operation: str, summary: str, ok: str, schema: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation, "summary": summary, "security": [{"bearer": []}],
        "responses": {"200": {"description": ok, "content": _json(schema)}, **_DENIED, **extra},
    }


def _cors_preflight(operation: str) -> dict[str, Any]:
    return {
        "operationId": operation, "summary": "CORS preflight for an allowed origin (`[worker] cors_origins`)",
        "responses": {"204": {"description": "The origin may call this resource."},
                      "403": {"description": "The origin is not allowed.", "content": _json("Error")}},
    }  # fmt: skip


def openapi_document(worker: WorkerSettings) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with this worker's limits in it."""
    not_found = {"404": {"description": "No customer with this id has an event yet (or the id is malformed).",
                         "content": _json("Error")}}
    unavailable = {"503": {"description": "The worker that owns the customer's partition cannot be reached "
                                          "(a rebalance, or it is down); ask again.", "content": _json("Error")}}
    brief_get = _read("getCustomerBrief", "What an agent must know about one customer", "The brief.", "AgentBrief",
                      {**not_found, **unavailable})
    customer = _read("getCustomer", "One customer's score, band, sensitivity, tickets and recent alerts",
                     "The customer.", "CustomerView", {**not_found, **unavailable})
    batch = _read("postCustomerBriefs", "Briefs of many customers, from every worker that owns one",
                  "One result per distinct customer id.", "BriefBatch",
                  {"400": {"description": "The body is not a BriefRequest.", "content": _json("Error")}})
    batch["requestBody"] = {"required": True, "content": _json("BriefRequest")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cxpulse worker",
            "version": __version__,
            "description": "Customer state and agent briefs, answered by any worker of the group (each request "
                           "goes to the worker that owns the customer's partition).",
        },
        "paths": {
            "/customers/{customer_id}": {"parameters": [_customer_param()], "get": customer},
            "/v1/customers/{customer_id}/brief": {"parameters": [_customer_param()], "get": brief_get,
                                                  "options": _cors_preflight("preflightBrief")},
            "/v1/customers/briefs": {"post": batch, "options": _cors_preflight("preflightBriefs")},
            "/healthz": {"get": {"operationId": "getHealth", "summary": "The worker's state (counts only)",
                                 "responses": {"200": {"description": "Up.", "content": _json("Health")}}}},
            "/metrics": {"get": {"operationId": "getMetrics", "summary": "Prometheus metrics",
                                 "responses": {"200": {"description": "Prometheus text format.",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"operationId": "getOpenapi", "summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.1.",
                                                            "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "schemas": _schemas(worker),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
