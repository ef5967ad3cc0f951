"""The OpenAPI document is well-formed: valid JSON Schemas, resolvable references, every answer documented."""

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cxpulse.producers.gateway_openapi import openapi_document
from cxpulse.producers.settings import GatewaySettings

DOCUMENT = openapi_document(GatewaySettings(max_batch_events=42, max_body_bytes=4096))


def _refs(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def test_component_schemas_are_valid_json_schema():
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_reference_resolves():
    registry = Registry().with_resource("urn:doc", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
    resolver = registry.resolver("urn:doc")
    local = [ref for ref in _refs(DOCUMENT["paths"], []) + _refs(DOCUMENT["components"]["schemas"], [])
             if ref.startswith("#/components/")]  # fmt: skip

    assert local
    for ref in local:
        assert resolver.lookup("urn:doc" + ref).contents


def test_the_limits_and_every_status_are_in_the_document():
    post = DOCUMENT["paths"]["/v1/events"]["post"]

    assert set(post["responses"]) == {"202", "400", "401", "403", "408", "413", "429", "503"}
    assert "4096" in post["requestBody"]["description"]
    assert DOCUMENT["components"]["schemas"]["EventBatch"]["oneOf"][1]["maxItems"] == 42
    assert post["security"] == [{"bearer": []}]
    assert set(post["responses"]["429"]["headers"]) == {"Retry-After"}


def test_a_report_and_an_error_validate():
    registry = Registry().with_resource("urn:doc", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
    report = Draft202012Validator({"$ref": "urn:doc#/components/schemas/IngestReport"}, registry=registry)
    error = Draft202012Validator({"$ref": "urn:doc#/components/schemas/Error"}, registry=registry)

    assert report.is_valid({"accepted": 1, "rejected": 1, "results": [
        {"index": 0, "status": "accepted", "duplicate": True},
        {"index": 1, "status": "rejected", "errors": [{"field": "score", "reason": "out of range"}]}]})  # fmt: skip
    assert not report.is_valid({"accepted": 1, "results": []})
    assert not report.is_valid({"accepted": 0, "rejected": 0, "results": [{"index": 0, "status": "lost"}]})
    assert error.is_valid({"error": "unauthorized", "detail": "a bearer token is required"})
    assert not error.is_valid({"error": "unauthorized"})
