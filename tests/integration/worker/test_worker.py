"""``cxpulse worker`` on a real broker: alerts, dead letters, scores, the read API, crash recovery."""

from collections import Counter

import orjson
import pytest

from .conftest import another_worker
from .helpers import alert_key, assert_engine_outcome, expected_run, last_scores, outcome, wait_consumed
from .scenario import BAD_RECORDS, scripted

pytestmark = pytest.mark.timeout(300)


def _alerts(consume, settings) -> list[dict]:
    return [orjson.loads(r.value) for r in consume(settings.topics.alerts)]


@pytest.mark.parametrize("delivery", [{}, {"direct_delivery": False}], ids=["direct", "faust-streams"])
def test_scripted_stream_gives_exactly_the_engines_alerts(settings_factory, produce, consume, worker_factory,
                                                           wait_for, delivery):
    settings = settings_factory(partitions=3, worker=delivery)
    scenario = scripted()
    records = scenario.records()
    expected = expected_run(settings, records)
    produce(settings.topics.events, records + [(key, value) for key, value, _ in BAD_RECORDS])

    worker = worker_factory(settings)
    total = len(records) + len(BAD_RECORDS)
    wait_for(lambda: (worker.health() or {}).get("events") == total, timeout=120, message="worker read every record")
    wanted = {a.alert_id for a in expected.alerts}
    wait_for(lambda: wanted <= {a["alert_id"] for a in _alerts(consume, settings)}, timeout=60,
             message="every expected alert on the alerts topic")

    alerts = _alerts(consume, settings)
    assert Counter(alert_key(a) for a in alerts) == Counter((a.rule, a.customer_id, a.service_type)
                                                            for a in expected.alerts)
    assert {a["alert_id"] for a in alerts} == wanted
    keys = {alert_key(a) for a in alerts}
    for story in [("repeat_contact", "ep-repeat", "billing"), ("detractor", "ep-detractor", "repair"),
                  ("sla_breach", "ep-sla", "account"), ("incident", None, "outage")]:
        assert story in keys, story
    assert all(a["emitted_at"] for a in alerts)


def test_invalid_records_are_dead_lettered_with_reasons(settings_factory, produce, consume, worker_factory,
                                                        wait_for):
    settings = settings_factory(partitions=2)
    good = scripted(background_customers=5, background_events=20).records()[:5]
    produce(settings.topics.events, [(k, v) for k, v, _ in BAD_RECORDS] + good)
    worker = worker_factory(settings)
    wait_for(lambda: (worker.health() or {}).get("events") == len(BAD_RECORDS) + len(good), timeout=60,
             message="worker read every record")

    letters = [orjson.loads(r.value) for r in consume(settings.topics.dlq, count=len(BAD_RECORDS))]
    assert len(letters) == len(BAD_RECORDS)
    by_key = {letter["key"]: letter for letter in letters}
    for key, _value, word in BAD_RECORDS:
        letter = by_key[key.decode()]
        assert word in letter["error"], (word, letter["error"])
        assert letter["source_topic"] == settings.topics.events
        assert letter["partition"] is not None and letter["offset"] is not None
    assert by_key["bad-6"]["raw_encoding"] == "base64"
    assert by_key["bad-1"]["raw"] == "{not json"
    assert wait_for(worker.health, message="health")["invalid"] == len(BAD_RECORDS)
    assert len(last_scores(consume(settings.topics.scores))) == len({k for k, _ in good})


def test_scores_and_read_api(settings_factory, produce, consume, worker_factory, wait_for):
    settings = settings_factory(partitions=3)
    records = scripted(background_customers=30, background_events=300).records()
    expected = expected_run(settings, records)
    produce(settings.topics.events, records)
    worker = worker_factory(settings)
    wait_for(lambda: (worker.health() or {}).get("events") == len(records), timeout=60, message="worker read every record")

    scores = last_scores(consume(settings.topics.scores))
    assert scores.keys() == expected.states.keys()
    for customer_id, state in expected.states.items():
        snapshot = expected.engine.snapshot(state)
        assert scores[customer_id]["score"] == pytest.approx(snapshot.score, abs=1e-9)
        assert scores[customer_id]["events_seen"] == snapshot.events_seen

    status, body = worker.get("/customers/ep-sla")
    assert status == 200
    assert body["score"] == pytest.approx(scores["ep-sla"]["score"], abs=0.01)
    assert [t["ticket_id"] for t in body["open_tickets"]] == ["T-sla-1"]
    assert body["open_tickets"][0]["breached"] is True
    assert "sla_breach" in {a["rule"] for a in body["recent_alerts"]}
    status, body = worker.get("/customers/nobody-here")
    assert status == 404 and "nobody-here" not in str(body)
    assert worker.get("/customers/ep-sla", token=None)[0] == 401  # customer data needs the read scope
    status, body = worker.get("/healthz")
    assert status == 200 and body["status"] == "ok"
    status, body = worker.get("/readyz")  # the readiness probe of deploy/kubernetes
    assert (status, body["ready"], body["recovered"], body["events_partitions"]) == (200, True, True, 3)


def test_a_second_worker_joining_mid_stream_loses_no_alert(settings_factory, produce, consume, worker_factory,
                                                           wait_for):
    settings = settings_factory(partitions=6, worker={"session_timeout_seconds": 10.0})
    records = scripted(background_customers=300, background_events=16_000, seed=5).records()
    expected = expected_run(settings, records)
    first = worker_factory(settings)
    produce(settings.topics.events, records[: len(records) // 2])
    second = worker_factory(another_worker(settings), ready_timeout=120)
    produce(settings.topics.events, records[len(records) // 2:])
    wait_consumed(wait_for, settings, workers=[first, second])
    assert (first.health() or {}).get("assigned_partitions") and (second.health() or {}).get("assigned_partitions")
    # the alert set (incidents included: decided behind the watermark) and every final score
    assert_engine_outcome(outcome(consume, settings), expected)
