"""The OpenAPI description of ``POST /v1/sources/{name}`` (merged into ``/openapi.json``)."""

from typing import Any

from cxpulse.producers.settings import GatewaySettings

from .gateway_openapi import _ERROR_CODES, _error_response, _ref, _retry_after

__all__ = ["source_paths", "source_schemas"]


def source_schemas() -> dict[str, Any]:
    """``SourceReport`` (202) and ``SourceRejection`` (400 when no record could be mapped)."""
    result = {
        "type": "object", "additionalProperties": False, "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "Position of the record in the request."},
            "status": {"enum": ["accepted", "ignored", "rejected"]},
            "events": {"type": "integer", "minimum": 1, "description": "Events the record became (accepted)."},
            "errors": {"type": "array", "minItems": 1, "items": _ref("FieldError"),
                       "description": "Why the record cannot be mapped: the field, expression and rule, never a value."},
        },
    }  # fmt: skip
    counts = {
        "accepted": {"type": "integer", "minimum": 0, "description": "Records mapped to valid events."},
        "ignored": {"type": "integer", "minimum": 0, "description": "Records the mapping skips."},
        "rejected": {"type": "integer", "minimum": 0, "description": "Records dead-lettered with their reason."},
        "results": {"type": "array", "items": _ref("SourceItemResult")},
    }
    report = {"type": "object", "additionalProperties": False, "required": list(counts), "properties": counts}
    rejection = {
        "type": "object", "additionalProperties": False, "required": ["error", "detail", *counts],
        "properties": {"error": {"const": "unmappable"}, "detail": {"type": "string"}, **counts},
    }  # fmt: skip
    either = {"oneOf": [_ref("Error"), _ref("SourceRejection")]}
    return {"SourceItemResult": result, "SourceReport": report, "SourceRejection": rejection, "SourceBadRequest": either}


def source_paths(limits: GatewaySettings) -> dict[str, Any]:
    """The path item of ``/v1/sources/{name}``."""
    responses: dict[str, Any] = {
        "202": {"description": "At least one record was mapped or ignored; mapped events are acknowledged by Kafka.",
                "content": {"application/json": {"schema": _ref("SourceReport")}}},
    }  # fmt: skip
    for code, description in _ERROR_CODES.items():
        headers = _retry_after() if code in ("429", "503") else None
        if code == "401":
            headers = {"WWW-Authenticate": {"description": "`Bearer realm=\"cxpulse\"`", "schema": {"type": "string"}}}
        responses[code] = _error_response(description, headers)
    responses["400"] = {
        "description": "The body is unusable (as for /v1/events: `Error`), or no record could be mapped "
        "(`SourceRejection`: each record is in the dead-letter topic with its reason).",
        "content": {"application/json": {"schema": _ref("SourceBadRequest")}},
    }
    responses["404"] = _error_response("The gateway serves no source of that name (`sources.webhooks`).")
    return {"/v1/sources/{name}": {"post": {
        "operationId": "postSourceRecords",
        "summary": "Send records of another system, mapped to events by a source mapping",
        "security": [{"bearer": []}],
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "A source in `sources.webhooks`, e.g. `zendesk`."}],
        "requestBody": {
            "required": True,
            "description": f"One record (a JSON object) or an array of 1..{limits.max_batch_events}; "
            f"at most {limits.max_body_bytes} bytes.",
            "content": {"application/json": {"schema": _ref("EventBatch")}},
        },
        "responses": responses,
    }}}  # fmt: skip
