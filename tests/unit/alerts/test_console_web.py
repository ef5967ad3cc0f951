"""The console's HTTP server in-process (aiohttp's test server on loopback): the SSE feed,
the JSON view, acknowledgements as silences, and who may ask. No Kafka: records are fed to
the server as the feed would, and Alertmanager is a fake with its API's shapes."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cxpulse.alerts.console_web import ConsoleServer, token_required, warnings_topic

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

NOW = 1_767_000_000.0
EMITTED = "2025-12-29T09:20:00+00:00"
TOKEN = "console-token-0123456789abcdef"


class FakeAlertmanager:
    """Holds silences like Alertmanager: a posted silence mutes the alerts its matchers match."""

    def __init__(self) -> None:
        self.held: list[dict[str, Any]] = []  # alerts as GET /api/v2/alerts lists them
        self.posted: list[dict[str, Any]] = []
        self.expired: list[str] = []

    def alerts(self) -> list[dict[str, Any]]:
        return self.held

    def silences(self) -> list[dict[str, Any]]:
        return [{**s, "id": _id(i), "status": {"state": "expired" if _id(i) in self.expired else "active"}}
                for i, s in enumerate(self.posted)]

    def post_silence(self, silence: dict[str, Any]) -> str:
        import re

        self.posted.append(silence)
        silence_id = _id(len(self.posted) - 1)
        for entry in self.held:
            labels = entry["labels"]
            if all((re.fullmatch(m["value"], labels.get(m["name"], "")) if m["isRegex"]
                    else labels.get(m["name"]) == m["value"]) for m in silence["matchers"]):
                entry["status"]["silencedBy"].append(silence_id)
        return silence_id

    def expire_silence(self, silence_id: str) -> None:
        self.expired.append(silence_id)
        for entry in self.held:
            if silence_id in entry["status"]["silencedBy"]:
                entry["status"]["silencedBy"].remove(silence_id)


def _id(n: int) -> str:
    return f"{n:08x}-1e2f-4a3b-9c4d-5e6f7a8b9c0d"  # Alertmanager's silence ids are UUIDs


def settings(**console: Any) -> Settings:
    return Settings(console={"push_interval_seconds": 0.01, **console}, gateway={"tokens": [
        {"name": "supervisors", "token": TOKEN, "scopes": ["console"]},
        {"name": "ingest-only", "token": "ingest-token-0123456789abcdef"}]})


def served(test: Callable[[TestClient, ConsoleServer, FakeAlertmanager], Awaitable[None]], **console: Any) -> None:
    async def main() -> None:
        server = ConsoleServer(settings(**console), clock=lambda: NOW, background=False)
        server.alertmanager = fake = FakeAlertmanager()
        async with TestClient(TestServer(server.app(), host="127.0.0.1")) as client:
            await test(client, server, fake)

    asyncio.run(main())


def alert_record(alert_factory, **fields) -> dict[str, Any]:
    return alert_factory(emitted_at=EMITTED, **fields)


async def next_event(stream) -> dict[str, Any]:
    """The next ``board`` event of an SSE response (keep-alive comments skipped)."""
    block = b""
    while True:
        line = await asyncio.wait_for(stream.content.readline(), 5)
        if line == b"\n" and block:
            break
        block += line
    data = [line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:")]
    assert block.startswith(b"event: board\n")
    return orjson.loads(b"".join(data))


def test_the_stream_sends_the_board_then_what_changed(alert_factory):
    first = alert_record(alert_factory, customer_id="C-1", severity="critical")
    later = alert_record(alert_factory, customer_id="C-2")

    async def test(client, server, am):
        server.record(server.alerts_topic, first)
        async with client.get("/api/stream") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            opening = await next_event(stream)
            assert opening["reset"] is True and opening["order"] == ["C-1"]
            assert [c["key"] for c in opening["cards"]] == ["C-1"] and opening["total"] == 1
            assert opening["status"]["topics"] == {"alerts": server.alerts_topic, "warnings": "cx.agent-warnings"}

            server.record(server.alerts_topic, later)
            update = await next_event(stream)
            assert update["reset"] is False and update["order"] == ["C-1", "C-2"]
            assert [c["key"] for c in update["cards"]] == ["C-2"]  # only what changed

            server.record(server.alerts_topic, {**first, "status": "resolved"})
            gone = await next_event(stream)
            assert gone["order"] == ["C-2"] and gone["removed"] == ["C-1"] and gone["cards"] == []

    served(test)


def test_the_stream_applies_its_filters(alert_factory):
    async def test(client, server, am):
        server.record(server.alerts_topic, alert_record(alert_factory, customer_id="C-1", severity="critical"))
        server.record(server.alerts_topic, alert_record(alert_factory, customer_id="C-2", segment="vip"))
        async with client.get("/api/stream?severity=critical") as stream:
            event = await next_event(stream)
            assert event["order"] == ["C-1"] and event["matched"] == 1 and event["total"] == 2
            server.record(server.alerts_topic, alert_record(alert_factory, customer_id="C-3"))
            event = await next_event(stream)
            assert event["order"] == ["C-1"] and event["cards"] == []  # C-3 changed the counts only
            assert event["facets"]["severity"] == {"critical": 1, "warning": 2}
        answer = await client.get("/api/stream?segment=gold")
        assert answer.status == 400
        assert (await answer.json())["detail"].startswith("segment: unknown value gold")

    served(test)


def test_acknowledging_a_card_silences_its_open_alerts_in_alertmanager(alert_factory):
    a1, a2 = alert_record(alert_factory, customer_id="C-1"), alert_record(alert_factory, customer_id="C-1")

    async def test(client, server, am):
        for a in (a1, a2):
            server.record(server.alerts_topic, a)
            am.held.append({"labels": {"alert_id": a["alert_id"], "customer_id": "C-1"}, "receivers": [{"name": "team"}],
                            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}})
        await server.poll_alertmanager()
        assert server.board.card("C-1")["state"] == "open"

        answer = await client.post("/api/cards/C-1/acknowledge", json={})
        assert answer.status == 201
        (silence,) = am.posted
        assert {m["name"]: m["value"] for m in silence["matchers"]} == {
            "customer_id": "C-1", "alert_id": "|".join(sorted([a1["alert_id"], a2["alert_id"]]))}
        assert silence["createdBy"] == "cxpulse-console"
        assert server.board.card("C-1")["state"] == "acknowledged"  # read back at once

        lifted = await client.delete(f"/api/silences/{(await answer.json())['silence_id']}", json={})
        assert lifted.status == 200 and server.board.card("C-1")["state"] == "open"

        muted = await client.post("/api/cards/C-1/silence", json={"seconds": 3600, "note": "waiting for a technician"})
        assert muted.status == 201 and am.posted[-1]["comment"] == "waiting for a technician"
        assert server.board.card("C-1")["state"] == "silenced"
        assert (await client.post("/api/cards/C-1/silence", json={"seconds": 5})).status == 400
        assert (await client.post("/api/cards/C-404/acknowledge", json={})).status == 404

    served(test)


def test_requests_that_change_something_must_be_json_from_this_origin(alert_factory):
    async def test(client, server, am):
        server.record(server.alerts_topic, alert_record(alert_factory, customer_id="C-1"))
        plain = await client.post("/api/cards/C-1/acknowledge", data="{}", headers={"Content-Type": "text/plain"})
        assert plain.status == 415
        foreign = await client.post("/api/cards/C-1/acknowledge", json={}, headers={"Origin": "http://evil.example"})
        assert foreign.status == 403
        rebound = await client.get("/api/cards", headers={"Host": "evil.example:9102"})
        assert rebound.status == 403  # a DNS-rebinding page cannot read it
        assert am.posted == []
        page = await client.get("/")
        assert page.status == 200 and "supervisor console" in await page.text()
        assert page.headers["X-Frame-Options"] == "DENY"
        script = await client.get("/static/console.js")
        assert script.status == 200 and "EventSource" not in await script.text()  # fetch: it sends the token

    served(test)


def test_bound_elsewhere_every_api_request_needs_a_console_token(alert_factory):
    async def test(client, server, am):
        assert server.protected
        assert (await client.get("/api/cards")).status == 401
        assert (await client.get("/api/cards", headers={"Authorization": "Bearer not-a-known-token-at-all"})).status == 401
        wrong = await client.get("/api/cards", headers={"Authorization": "Bearer ingest-token-0123456789abcdef"})
        assert wrong.status == 403
        ok = await client.get("/api/cards", headers={"Authorization": f"Bearer {TOKEN}", "Host": "10.0.0.5:9102"})
        assert ok.status == 200
        assert (await client.get("/")).status == 200  # the page itself holds no data

        server.record(server.alerts_topic, alert_record(alert_factory, customer_id="C-1"))
        am.held.append({"labels": {"alert_id": server.board.alert_ids("C-1")[0], "customer_id": "C-1"},
                        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}})
        acked = await client.post("/api/cards/C-1/acknowledge", json={}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert acked.status == 201 and am.posted[-1]["createdBy"] == "supervisors"  # the token's name

    served(test, host="0.0.0.0")


def test_a_console_on_another_address_without_a_console_token_does_not_start():
    with pytest.raises(CxpulseError, match='"console" scope'):
        ConsoleServer(Settings(console={"host": "0.0.0.0"}), background=False)
    assert token_required(Settings(console={"host": "::1"})) is False
    assert token_required(Settings(console={"require_token": True})) is True


def test_the_warnings_topic_defaults_when_no_setting_names_it():
    assert warnings_topic(Settings()) == "cx.agent-warnings"
