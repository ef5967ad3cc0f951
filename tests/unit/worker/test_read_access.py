"""Who may read the worker's customer data (tokens with the read scope, loopback opt-in) and CORS."""

import pytest
from cxpulse.processors.worker.access import ReadAccess
from cxpulse.processors.worker.faustapp.readapi import _customer_ids
from cxpulse.processors.worker.openapi import openapi_document
from cxpulse.processors.worker.settings import WorkerSettings
from cxpulse.producers.gateway_auth import token_digest
from cxpulse.producers.settings import GatewayToken
from openapi_spec_validator import validate

READER = "r" * 32
INGEST_ONLY = "i" * 32
REVOKED = "x" * 32
TOKENS = [GatewayToken(name="desk", sha256=token_digest(READER), scopes=["read"]),
          GatewayToken(name="crm", token=INGEST_ONLY),
          GatewayToken(name="old", token=REVOKED, scopes=["read", "ingest"], revoked=True)]


@pytest.mark.parametrize("header, status", [
    (f"Bearer {READER}", None),
    (None, 401),
    ("Basic abc", 401),
    (f"Bearer {'z' * 32}", 401),
    (f"Bearer {INGEST_ONLY}", 403),  # a gateway token without the read scope
    (f"Bearer {REVOKED}", 403),
])
def test_only_a_token_with_the_read_scope_reads(header, status):
    refusal = ReadAccess(TOKENS).check(header, "10.0.0.7")

    assert (refusal.status if refusal else None) == status
    if status == 401:
        assert refusal.headers["WWW-Authenticate"].startswith('Bearer realm="cxpulse"')


@pytest.mark.parametrize("remote, open_", [("127.0.0.1", True), ("::1", True), ("127.8.0.1", True),
                                           ("10.0.0.7", False), ("::ffff:10.0.0.7", False), (None, False),
                                           ("not-an-address", False)])
def test_loopback_goes_without_a_token_only_when_allowed(remote, open_):
    assert (ReadAccess(TOKENS, loopback_open=True).check(None, remote) is None) is open_
    assert ReadAccess(TOKENS).check(None, remote).status == 401  # off by default


def test_no_tokens_configured_means_no_reads():
    assert ReadAccess([]).check(f"Bearer {READER}", "127.0.0.1").status == 401


def test_cors_names_only_allowed_origins():
    access = ReadAccess(TOKENS, cors_origins=["https://desk.example.com"])

    assert access.cors_headers("https://desk.example.com")["Access-Control-Allow-Origin"] == "https://desk.example.com"
    assert access.cors_headers("https://evil.example.com") == {}
    assert access.cors_headers(None) == {}
    assert access.preflight_headers("https://evil.example.com", "GET") is None
    preflight = access.preflight_headers("https://desk.example.com", "GET, OPTIONS")
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert ReadAccess(TOKENS, cors_origins=["*"]).cors_headers("https://any.example")["Access-Control-Allow-Origin"] == "*"


def test_the_openapi_document_passes_the_standard_validator():
    document = openapi_document(WorkerSettings(brief_batch_max=7))

    validate(document)  # openapi-spec-validator: raises on an invalid document
    batch = document["components"]["schemas"]["BriefRequest"]["properties"]["customer_ids"]
    assert batch["maxItems"] == 7
    assert {"AgentBrief", "SensitiveInfo", "RepeatInfo", "TicketInfo"} <= set(document["components"]["schemas"])


def test_the_validator_does_catch_a_broken_document():
    document = openapi_document(WorkerSettings())
    document["paths"]["/customers/{customer_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] = {"$ref": "#/components/schemas/Nowhere"}

    with pytest.raises(Exception, match="Nowhere"):
        validate(document)


@pytest.mark.parametrize("body, answer", [
    (b'{"customer_ids": ["C-1", "C-2", "C-1"]}', ["C-1", "C-2"]),
    (b"nope", "the body is not valid JSON"),
    (b'["C-1"]', 'the body must be {"customer_ids": [...]} with at least one id'),
    (b'{"customer_ids": []}', 'the body must be {"customer_ids": [...]} with at least one id'),
    (b'{"customer_ids": ["C-1"], "x": 1}', 'the body must be {"customer_ids": [...]} with at least one id'),
    (b'{"customer_ids": ["C 1"]}', "customer_ids: each must be 1-64 characters of A-Za-z0-9._:-"),
    (b'{"customer_ids": [7]}', "customer_ids: each must be 1-64 characters of A-Za-z0-9._:-"),
    (b'{"customer_ids": ["a", "b", "c", "d"]}', "at most 3 customer ids per request"),
])
def test_a_brief_batch_body(body, answer):
    assert _customer_ids(body, 3) == answer
