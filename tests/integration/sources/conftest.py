"""Fixtures of the source tests (the worker process comes from the worker tests' conftest).

    samples(name) -> list[dict]     the vendor-shaped records of tests/sources/samples/<name>.json
    post_source(gateway, name, body) -> HttpAnswer    POST /v1/sources/{name} with the gateway's token
"""

import json
from pathlib import Path

import orjson
import pytest

from ..conftest import GatewayProcess, HttpAnswer, http_request
from ..worker.conftest import worker_factory  # noqa: F401

SAMPLES = Path(__file__).resolve().parents[2] / "sources" / "samples"
HASH_KEY = "integration-tests-hash-key"


@pytest.fixture
def samples():
    def load(name: str) -> list[dict]:
        return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))

    return load


@pytest.fixture
def post_source():
    def post(gateway: GatewayProcess, name: str, body) -> HttpAnswer:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {gateway.token}"}
        return http_request(gateway.port, "POST", f"/v1/sources/{name}", orjson.dumps(body), headers)

    return post
