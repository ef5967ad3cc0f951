"""``POST /v1/sources/{name}`` in process: mapped, ignored and unmappable records, dead letters, errors.

Each answer is checked against the gateway's OpenAPI document.
"""

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import orjson
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from cxpulse.producers.gateway import GATEWAY, create_app
from cxpulse.producers.gateway_kafka import KafkaUnavailable
from cxpulse.producers.gateway_openapi import openapi_document
from cxpulse.producers.settings import GatewaySettings, GatewayToken
from cxpulse.schemas import DeadLetter
from cxpulse.settings import Settings

TOKEN = "t" * 40
PATH = "/v1/sources/{name}"
SAMPLES = Path(__file__).resolve().parents[2] / "sources" / "samples"


def sample(name: str) -> list[dict]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


class TopicWriter:
    """Keeps ``(topic, key, value)``; ``fail`` makes writes raise as Kafka would."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.records, self.ready = fail, [], True

    async def start(self) -> None:
        pass

    async def write(self, records: Sequence[tuple[bytes | None, bytes]], topic: str | None = None) -> None:
        if self.fail:
            raise KafkaUnavailable("KafkaTimeoutError")
        self.records.extend((topic or "events", key, value) for key, value in records)

    async def healthy(self) -> bool:
        return True

    async def stop(self) -> None:
        pass

    def on(self, topic: str) -> list[tuple[bytes | None, dict]]:
        return [(key, orjson.loads(value)) for t, key, value in self.records if t == topic]


def run(scenario, openapi_check, writer: TopicWriter | None = None) -> None:
    settings = Settings(gateway=GatewaySettings(tokens=[GatewayToken(name="crm", token=TOKEN)]),
                        topics={"dlq": "dlq"}, sources={"webhooks": ["zendesk", "salesforce-case"]})  # fmt: skip
    recorder = writer or TopicWriter()

    async def main() -> None:
        app = create_app(settings, writer=recorder, registry=CollectorRegistry())
        document = openapi_document(app[GATEWAY].limits)
        async with TestClient(TestServer(app)) as client:

            async def post(name: str, body, token: str | None = TOKEN):
                headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
                response = await client.post(f"/v1/sources/{name}", data=orjson.dumps(body), headers=headers)
                raw = await response.read()
                openapi_check(document, "POST", PATH, response.status, dict(response.headers), raw)
                return response.status, orjson.loads(raw)

            await scenario(post, recorder, client)

    asyncio.run(main())


def test_webhook_records_become_events_ignored_or_dead_letters(openapi_check):
    async def scenario(post, writer, client) -> None:
        status, body = await post("zendesk", sample("zendesk"))
        assert status == 202
        assert (body["accepted"], body["ignored"], body["rejected"]) == (6, 2, 0)
        assert [r["status"] for r in body["results"]] == ["accepted"] * 3 + ["ignored"] + ["accepted"] * 3 + ["ignored"]
        events = writer.on("events")
        assert len(events) == 6 and {key for key, _ in events} == {b"zd-20978392"}
        assert [e["event_type"] for _, e in events] == ["ticket"] * 5 + ["feedback"]
        assert writer.on("dlq") == []
        metrics = (await (await client.get("/metrics")).read()).decode()
        assert 'cxpulse_gateway_source_records_total{outcome="mapped",source="zendesk"} 6.0' in metrics
        assert 'cxpulse_gateway_requests_total{route="sources",status="202"} 1.0' in metrics

    run(scenario, openapi_check)


def test_an_unmappable_record_is_dead_lettered_with_the_reason_and_answered_400_when_nothing_mapped(openapi_check):
    closed = sample("salesforce-case")[5]  # no ContactId: no customer

    async def scenario(post, writer, client) -> None:
        status, body = await post("salesforce-case", closed)
        assert status == 400 and body["error"] == "unmappable"
        [result] = body["results"]
        assert result["status"] == "rejected"
        assert result["errors"][0]["field"] == "customer_id"
        [(key, letter)] = writer.on("dlq")
        letter = DeadLetter.model_validate(letter)
        assert key is None and letter.source == "salesforce-case"
        assert letter.source_topic == "gateway:/v1/sources/salesforce-case" and letter.partition is None
        assert letter.error.startswith("source salesforce-case, rule changed: customer_id: required")
        assert orjson.loads(letter.raw) == closed
        assert writer.on("events") == []

    run(scenario, openapi_check)


def test_a_mixed_batch_is_202_and_dead_letters_only_the_bad_record(openapi_check):
    async def scenario(post, writer, client) -> None:
        status, body = await post("salesforce-case", sample("salesforce-case"))
        assert status == 202 and (body["accepted"], body["ignored"], body["rejected"]) == (4, 1, 1)
        assert len(writer.on("events")) == 4 and len(writer.on("dlq")) == 1

    run(scenario, openapi_check)


def test_retries_are_not_written_twice(openapi_check):
    async def scenario(post, writer, client) -> None:
        record = sample("zendesk")[0]
        assert (await post("zendesk", record))[0] == 202
        status, body = await post("zendesk", [record, record])
        assert status == 202 and body["accepted"] == 2
        assert len(writer.on("events")) == 1

    run(scenario, openapi_check)


def test_tokens_and_unknown_sources(openapi_check):
    async def scenario(post, writer, client) -> None:
        status, body = await post("zendesk", sample("zendesk")[0], token=None)
        assert status == 401
        status, body = await post("amazon-connect", sample("amazon-connect")[0])  # a preset, but not served
        assert status == 404 and body["error"] == "not_found"
        status, body = await post("zendesk", [])
        assert status == 400 and body["error"] == "bad_request"
        assert writer.records == []

    run(scenario, openapi_check)


def test_kafka_away_is_503_and_nothing_counts(openapi_check):
    async def scenario(post, writer, client) -> None:
        status, body = await post("zendesk", sample("zendesk")[:2])
        assert status == 503 and body["error"] == "unavailable"

    run(scenario, openapi_check, TopicWriter(fail=True))


def test_a_webhook_source_that_cannot_load_stops_the_gateway_at_start():
    import pytest

    from cxpulse.errors import ConfigError

    settings = Settings(gateway=GatewaySettings(tokens=[GatewayToken(name="crm", token=TOKEN)]),
                        sources={"webhooks": ["amazon-connect"]})  # hashes phone numbers: needs sources.hash_key
    with pytest.raises(ConfigError, match="sources.hash_key"):
        create_app(settings, writer=TopicWriter(), registry=CollectorRegistry())
