"""The ingest gateway as a real process against a real broker."""

import orjson

from cxpulse.producers.settings import GatewayToken


def _call(event_id: str, customer_id: str = "C-200001", **fields) -> dict:
    return {
        "event_id": event_id, "event_type": "call", "customer_id": customer_id, "occurred_at": "2024-05-01T10:00:00Z",
        "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 12.0,
        "talk_seconds": 180.0, "outcome": "resolved", **fields,
    }  # fmt: skip


def test_accepted_events_land_in_the_events_topic_keyed_by_customer(settings_factory, gateway_factory, wait_healthy, consume):
    settings = settings_factory()
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    events = [_call(f"e-{n}", customer_id=f"C-2000{n % 3}") for n in range(7)]

    single = gateway.post(events[0])
    batch = gateway.post(events[1:])

    assert single.status == 202 and batch.status == 202
    assert single.json() == {"accepted": 1, "rejected": 0, "results": [{"index": 0, "status": "accepted"}]}
    assert batch.json()["accepted"] == 6
    records = consume(settings.topics.events, count=7, timeout=30)
    assert sorted((r.key, orjson.loads(r.value)["event_id"]) for r in records) == sorted(
        (e["customer_id"].encode(), e["event_id"]) for e in events
    )
    partitions = {}
    for record in records:  # one customer, one partition: their order is kept
        partitions.setdefault(record.key, set()).add(record.partition)
    assert all(len(found) == 1 for found in partitions.values())


def test_a_mixed_batch_gets_one_result_per_item_and_only_valid_items_are_written(
    settings_factory, gateway_factory, wait_healthy, consume
):
    settings = settings_factory(partitions=1)
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    batch = [
        _call("m-1"),
        _call("m-2", wait_seconds="slow"),
        "not an event",
        _call("m-3", customer_id="someone@example.com"),
        _call("m-4", channel="fax"),
        _call("m-5"),
    ]

    answer = gateway.post(batch)

    assert answer.status == 202
    report = answer.json()
    assert (report["accepted"], report["rejected"]) == (2, 4)
    statuses = [(item["index"], item["status"]) for item in report["results"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "rejected"), (3, "rejected"), (4, "rejected"), (5, "accepted")]
    fields = [[error["field"] for error in item["errors"]] for item in report["results"] if item["status"] == "rejected"]
    assert fields == [["wait_seconds"], ["event"], ["customer_id"], ["channel"]]
    assert "someone@example.com" not in answer.body.decode()
    records = consume(settings.topics.events, timeout=10)
    assert [orjson.loads(r.value)["event_id"] for r in records] == ["m-1", "m-5"]


def test_a_retried_request_is_not_written_twice(settings_factory, gateway_factory, wait_healthy, consume):
    settings = settings_factory(partitions=1)
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    batch = [_call("r-1"), _call("r-2"), _call("r-2")]

    first = gateway.post(batch)
    retry = gateway.post(batch)

    assert [item.get("duplicate", False) for item in first.json()["results"]] == [False, False, True]
    assert [item.get("duplicate", False) for item in retry.json()["results"]] == [True, True, True]
    assert retry.json()["accepted"] == 3
    records = consume(settings.topics.events, timeout=10)
    assert sorted(orjson.loads(r.value)["event_id"] for r in records) == ["r-1", "r-2"]


def test_health_metrics_and_openapi(settings_factory, gateway_factory, wait_healthy):
    gateway = gateway_factory(settings_factory())
    wait_healthy(gateway)
    gateway.post([_call("h-1"), _call("h-2", outcome="?")])
    gateway.post(b"{", token="")

    health = gateway.get("/healthz")
    metrics = gateway.get("/metrics").body.decode()
    openapi = gateway.get("/openapi.json").json()

    assert health.json() == {"status": "ok", "kafka": "ok"}
    assert 'cxpulse_gateway_events_total{outcome="accepted"} 1.0' in metrics
    assert 'cxpulse_gateway_events_total{outcome="rejected"} 1.0' in metrics
    assert 'cxpulse_gateway_requests_total{route="events",status="202"} 1.0' in metrics
    assert 'cxpulse_gateway_requests_total{route="events",status="401"} 1.0' in metrics
    assert "cxpulse_gateway_kafka_ready 1.0" in metrics
    assert openapi["openapi"].startswith("3.1")
    assert "C-200001" not in metrics


def test_tokens_from_the_environment_rotate_and_revoke(settings_factory, gateway_factory, wait_healthy):
    old, new, revoked = "o" * 32, "n" * 32, "r" * 32
    tokens = [
        GatewayToken(name="crm-old", token=old),
        GatewayToken(name="crm-new", sha256=__import__("hashlib").sha256(new.encode()).hexdigest()),
        GatewayToken(name="crm-2023", token=revoked, revoked=True),
    ]
    settings = settings_factory()
    settings = settings.model_copy(update={"gateway": settings.gateway.model_copy(update={"tokens": tokens})})
    gateway = gateway_factory(settings)
    wait_healthy(gateway)

    assert gateway.post(_call("t-1"), token=old).status == 202
    assert gateway.post(_call("t-2"), token=new).status == 202
    assert gateway.post(_call("t-3"), token=revoked).status == 403
    assert gateway.post(_call("t-4"), token="x" * 32).status == 401


def test_graceful_shutdown_exits_zero(settings_factory, gateway_factory, wait_healthy):
    gateway = gateway_factory(settings_factory())
    wait_healthy(gateway)
    assert gateway.post(_call("s-1")).status == 202

    assert gateway.stop() == 0
    assert "ingest gateway stopped" in gateway.logs()
