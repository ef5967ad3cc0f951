"""The gateway's HTTP contract, in process, with a recording writer in place of Kafka.

Every answer is checked against the gateway's own OpenAPI document. Kafka itself is in
tests/integration/producers/test_gateway_kafka.py and test_gateway_faults.py.
"""

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from cxpulse.producers.gateway import GATEWAY, create_app
from cxpulse.producers.gateway_kafka import KafkaUnavailable
from cxpulse.producers.gateway_openapi import openapi_document
from cxpulse.producers.settings import GatewaySettings, GatewayToken
from cxpulse.settings import Settings

TOKEN, REVOKED = "t" * 40, "r" * 40
EVENT = {
    "event_id": "e-1", "event_type": "call", "customer_id": "C-300001", "occurred_at": "2024-05-01T10:00:00Z",
    "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 5.0,
    "talk_seconds": 60.0, "outcome": "resolved",
}  # fmt: skip


class RecordingWriter:
    """Keeps what it is given; ``fail`` makes writes raise as Kafka would."""

    def __init__(self, ready: bool = True, fail: bool = False) -> None:
        self.ready, self.fail, self.records, self.stopped = ready, fail, [], False

    async def start(self) -> None:
        pass

    async def write(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        if not self.ready:
            raise KafkaUnavailable("not connected to Kafka")
        if self.fail:
            raise KafkaUnavailable("KafkaTimeoutError")
        self.records.extend(records)

    async def healthy(self) -> bool:
        return self.ready and not self.fail

    async def stop(self) -> None:
        self.stopped = True


def settings(**gateway) -> Settings:
    tokens = [GatewayToken(name="crm", token=TOKEN), GatewayToken(name="old", token=REVOKED, revoked=True)]
    return Settings(gateway=GatewaySettings(tokens=tokens, **gateway))


class Harness:
    def __init__(self, client: TestClient, writer: RecordingWriter, registry: CollectorRegistry, check) -> None:
        self.client, self.writer, self.registry, self._check = client, writer, registry, check
        self.document = openapi_document(client.server.app[GATEWAY].limits)

    async def request(self, method: str, path: str, **kwargs):
        response = await self.client.request(method, path, **kwargs)
        body = await response.read()
        if path in self.document["paths"] and method.lower() in self.document["paths"][path]:
            self._check(self.document, method, path, response.status, dict(response.headers), body)
        return response, body

    async def post(self, body, token: str | None = TOKEN, headers: dict | None = None):
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response, raw = await self.request("POST", "/v1/events", data=data, headers=sent)
        return response, (orjson.loads(raw) if raw else None)


def run(scenario, openapi_check, writer: RecordingWriter | None = None, **gateway) -> None:
    async def main() -> None:
        recorder = writer or RecordingWriter()
        registry = CollectorRegistry()
        app = create_app(settings(**gateway), writer=recorder, registry=registry)
        async with TestClient(TestServer(app)) as client:
            await scenario(Harness(client, recorder, registry, openapi_check))

    asyncio.run(main())


def test_one_event_is_accepted_and_written_keyed_by_customer(openapi_check):
    async def scenario(h: Harness) -> None:
        response, body = await h.post(EVENT)
        assert response.status == 202
        assert body == {"accepted": 1, "rejected": 0, "results": [{"index": 0, "status": "accepted"}]}
        assert [(key, orjson.loads(value)) for key, value in h.writer.records] == [(b"C-300001", EVENT)]

    run(scenario, openapi_check)


def test_a_batch_maps_each_item_to_its_result(openapi_check):
    async def scenario(h: Harness) -> None:
        batch = [EVENT, {**EVENT, "event_id": "e-2", "score": 1}, 7, {**EVENT, "event_id": "e-3"}, EVENT]
        response, body = await h.post(batch)
        assert response.status == 202
        assert (body["accepted"], body["rejected"]) == (3, 2)
        assert body["results"] == [
            {"index": 0, "status": "accepted"},
            {"index": 1, "status": "rejected", "errors": [{"field": "score", "reason": "unknown field (not in the event contract)"}]},
            {"index": 2, "status": "rejected", "errors": [{"field": "event", "reason": "each event must be a JSON object"}]},
            {"index": 3, "status": "accepted"},
            {"index": 4, "status": "accepted", "duplicate": True},
        ]  # fmt: skip
        assert [orjson.loads(v)["event_id"] for _, v in h.writer.records] == ["e-1", "e-3"]

    run(scenario, openapi_check)


def test_all_rejected_is_still_202_and_writes_nothing(openapi_check):
    async def scenario(h: Harness) -> None:
        response, body = await h.post([{"event_type": "call"}, {}])
        assert response.status == 202 and body["accepted"] == 0 and body["rejected"] == 2
        assert h.writer.records == []

    run(scenario, openapi_check)


@pytest.mark.parametrize(
    ("token", "status", "challenge"),
    [(None, 401, 'Bearer realm="cxpulse"'), ("x" * 40, 401, 'Bearer realm="cxpulse", error="invalid_token"'),
     (REVOKED, 403, None)],  # fmt: skip
)
def test_authentication(openapi_check, token, status, challenge):
    async def scenario(h: Harness) -> None:
        response, body = await h.post(EVENT, token=token)
        assert response.status == status
        assert response.headers.get("WWW-Authenticate") == challenge
        assert set(body) == {"error", "detail"} and "token" not in body["error"]
        assert h.writer.records == []

    run(scenario, openapi_check)


def test_a_body_over_the_limit_is_413_by_header_and_by_stream(openapi_check):
    async def chunks():
        for _ in range(4):
            yield b" " * 1024

    async def scenario(h: Harness) -> None:
        response, _ = await h.post(b"[" + b" " * 3000 + b"]")
        assert response.status == 413
        response, _ = await h.request("POST", "/v1/events", data=chunks(),
                                      headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert response.status == 413
        assert h.writer.records == []

    run(scenario, openapi_check, max_body_bytes=2048)


@pytest.mark.parametrize("body", [b"", b"{oops", b"[]", b"3", b"\xff", b'"event"', b"[" + b"{}," * 5 + b"{}]"])
def test_a_body_that_is_not_an_object_or_array_is_400(openapi_check, body):
    async def scenario(h: Harness) -> None:
        response, answer = await h.post(body)
        assert response.status == 400 and answer["error"] == "bad_request"

    run(scenario, openapi_check, max_batch_events=5, rate_limit_burst=10)


def test_the_rate_limit_answers_429_with_retry_after(openapi_check):
    async def scenario(h: Harness) -> None:
        first, _ = await h.post([{**EVENT, "event_id": f"e-{n}"} for n in range(10)])
        refused, body = await h.post(EVENT)
        assert first.status == 202
        assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
        assert len(h.writer.records) == 10
        revoked, _ = await h.post(EVENT, token=REVOKED)  # authentication comes first
        assert revoked.status == 403

    run(scenario, openapi_check, max_batch_events=10, rate_limit_burst=10, rate_limit_events_per_second=0.01)


def test_a_batch_larger_than_the_tokens_left_is_refused_whole(openapi_check):
    async def scenario(h: Harness) -> None:
        await h.post([{**EVENT, "event_id": f"e-{n}"} for n in range(6)])
        refused, _ = await h.post([{**EVENT, "event_id": f"f-{n}"} for n in range(6)])
        assert refused.status == 429
        assert len(h.writer.records) == 6

    run(scenario, openapi_check, max_batch_events=10, rate_limit_burst=10, rate_limit_events_per_second=0.01)


@pytest.mark.parametrize("writer", [RecordingWriter(ready=False), RecordingWriter(fail=True)], ids=["down", "failing"])
def test_kafka_unavailable_is_503_and_nothing_counts_as_accepted(openapi_check, writer):
    async def scenario(h: Harness) -> None:
        response, body = await h.post([EVENT, {**EVENT, "event_id": "e-2"}])
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        assert body["error"] == "unavailable"
        health, _ = await h.request("GET", "/healthz")
        assert health.status == 503
        h.writer.ready, h.writer.fail = True, False
        retried, answer = await h.post([EVENT, {**EVENT, "event_id": "e-2"}])
        assert retried.status == 202 and "duplicate" not in str(answer)  # not remembered as delivered
        metrics = h.registry.get_sample_value
        assert metrics("cxpulse_gateway_events_total", {"outcome": "unavailable"}) == 2
        assert metrics("cxpulse_gateway_events_total", {"outcome": "accepted"}) == 2

    run(scenario, openapi_check, writer=writer)


def test_an_all_invalid_batch_does_not_need_kafka(openapi_check):
    async def scenario(h: Harness) -> None:
        response, body = await h.post([{}])
        assert response.status == 202 and body["rejected"] == 1

    run(scenario, openapi_check, writer=RecordingWriter(ready=False))


def test_unknown_paths_and_methods_answer_json(openapi_check):
    async def scenario(h: Harness) -> None:
        missing, body = await h.request("GET", "/v1/customers/C-300001")
        assert missing.status == 404 and orjson.loads(body)["error"] == "not_found"
        wrong, body = await h.request("GET", "/v1/events")
        assert wrong.status == 405 and wrong.headers["Allow"] == "POST"

    run(scenario, openapi_check)


def test_metrics_count_requests_and_events_without_customer_data(openapi_check):
    async def scenario(h: Harness) -> None:
        await h.post([EVENT, {"customer_id": "C-300001"}])
        await h.post(EVENT, token=None)
        response, body = await h.request("GET", "/metrics")
        text = body.decode()
        sample = h.registry.get_sample_value
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        assert sample("cxpulse_gateway_requests_total", {"route": "events", "status": "202"}) == 1
        assert sample("cxpulse_gateway_requests_total", {"route": "events", "status": "401"}) == 1
        assert sample("cxpulse_gateway_events_total", {"outcome": "accepted"}) == 1
        assert sample("cxpulse_gateway_events_total", {"outcome": "rejected"}) == 1
        assert sample("cxpulse_gateway_request_seconds_count", {"route": "events"}) == 2
        assert "C-300001" not in text and TOKEN not in text

    run(scenario, openapi_check)


def test_health_and_openapi(openapi_check):
    async def scenario(h: Harness) -> None:
        health, body = await h.request("GET", "/healthz")
        assert health.status == 200 and orjson.loads(body) == {"status": "ok", "kafka": "ok"}
        spec, body = await h.request("GET", "/openapi.json")
        document = orjson.loads(body)
        assert spec.status == 200 and document["openapi"] == "3.1.0"
        batch = document["components"]["schemas"]["EventBatch"]["oneOf"][1]
        assert batch["maxItems"] == 7

    run(scenario, openapi_check, max_batch_events=7)


def test_the_writer_stops_with_the_app(openapi_check):
    writer = RecordingWriter()

    async def scenario(h: Harness) -> None:
        assert not writer.stopped

    run(scenario, openapi_check, writer=writer)
    assert writer.stopped


def test_requests_without_a_valid_token_share_a_bucket_per_address_and_valid_ones_never_pay(openapi_check):
    async def scenario(h: Harness) -> None:
        assert (await h.post(EVENT, token=None))[0].status == 401
        assert (await h.post(EVENT, token=REVOKED))[0].status == 403
        probe, _ = await h.request("GET", "/openapi.json")
        assert probe.status == 200  # the third: the burst is spent
        refused, body = await h.post(EVENT, token="u" * 40)
        assert refused.status == 429 and body["error"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await h.request("GET", "/healthz"))[0].status == 429
        for n in range(5):  # a valid token is neither charged nor held back
            assert (await h.post({**EVENT, "event_id": f"v-{n}"}))[0].status == 202

    run(scenario, openapi_check, unauthenticated_per_second=0.001, unauthenticated_burst=3)


def test_every_answer_says_server_cxpulse_without_versions(openapi_check):
    async def scenario(h: Harness) -> None:
        for method, path in (("GET", "/openapi.json"), ("GET", "/nowhere"), ("POST", "/v1/events")):
            response, _ = await h.request(method, path)
            assert response.headers["Server"] == "cxpulse", path

    run(scenario, openapi_check)
