"""Bad input straight into ``cx.events``: the corpus and a hypothesis fuzz of raw records.

Whatever a producer sends, the worker must: process every valid event once (its alerts
and final scores equal ``EngineDriver``'s on the valid records), dead-letter every invalid
record with a reason and its source topic, partition, offset, key and original bytes, and
keep running (healthy and consuming: a valid event sent after the junk is processed).
"""

import base64

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings

from .conftest import assert_engine_outcome, engine_on_topic, outcome, wait_consumed
from .fuzz import CUSTOMERS, FuzzRecord, fuzz_batches

from ..worker.helpers import settled

pytestmark = pytest.mark.timeout(300)

QUICK_IDLE = {"partition_idle_seconds": 2.0}  # the final sweep at the overall clock comes 2 s after the last record


def _last_valid_event() -> tuple[bytes, bytes]:
    """Sent after everything else: processing it shows the worker still consumes."""
    event = {"event_id": "after-the-junk", "event_type": "call", "customer_id": CUSTOMERS[0],
             "occurred_at": "2025-06-05T09:00:00+00:00", "channel": "phone", "service_type": "billing",
             "direction": "inbound", "wait_seconds": 5, "talk_seconds": 60, "outcome": "resolved"}
    return CUSTOMERS[0].encode(), orjson.dumps(event)


def _raw(letter: dict) -> bytes:
    raw = letter.get("raw", "")
    return base64.b64decode(raw) if letter.get("raw_encoding") == "base64" else raw.encode("utf-8")


def check_every_record(settings, sent: list[FuzzRecord], consume, worker, wait_for) -> dict[str, int]:
    """Every record ends up processed once or dead-lettered with its reason and coordinates."""
    records = consume(settings.topics.events)
    assert len(records) == len(sent)
    wait_for(lambda: (worker.health() or {}).get("events") == len(records), timeout=120,
             message="the worker read every record")
    driver, verdicts = engine_on_topic(settings, records)
    by_position = {(r.partition, r.offset): r for r in records}
    broken = {(r.key, r.value): r.broken for r in sent}
    for position, verdict in verdicts.items():
        record = by_position[position]
        if broken[record.key, record.value] is not None:  # the contract, not only the worker's word
            assert isinstance(verdict, str), f"accepted a record with {broken[record.key, record.value]}"
    invalid = {position: verdict for position, verdict in verdicts.items() if isinstance(verdict, str)}

    wait_for(lambda: settled(worker.health()), timeout=60, message="the final sweep at the overall clock")
    wait_consumed(wait_for, settings, workers=[worker])
    letters = [orjson.loads(r.value) for r in consume(settings.topics.dlq, count=len(invalid), timeout=30)]
    assert {(letter["partition"], letter["offset"]): letter["error"] for letter in letters} == invalid
    for letter in letters:
        record = by_position[letter["partition"], letter["offset"]]
        assert letter["source_topic"] == settings.topics.events
        assert letter.get("key") == (None if record.key is None else record.key.decode("utf-8", "replace"))
        assert _raw(letter) == record.value
    got = outcome(consume, settings)
    assert_engine_outcome(got, driver)
    assert got.alert_records == len(got.alerts)  # one worker, no fault: no alert written twice
    health = worker.health()  # raises if the worker exited
    assert health["status"] == "ok" and health["invalid"] == len(invalid)
    return {"records": len(records), "invalid": len(invalid), "events": driver.events - driver.duplicates}


def test_the_corpus_straight_into_kafka(settings_factory, produce, consume, worker_factory, wait_for, event_corpus):
    sent: list[FuzzRecord] = []
    for case in event_corpus:
        body = case.json_object or {}
        customer = body.get("customer_id")
        key = customer.encode() if isinstance(customer, str) else f"corpus-{case.name}".encode()
        sent.append(FuzzRecord(key, case.raw, None if case.valid else case.name))
    valid = [case for case in event_corpus if case.valid and case.duplicate_of is None]
    for case in valid[:3]:  # a valid event under another customer's key, or none: dead-lettered (split state)
        other = sent[event_corpus.index(case)]
        sent += [FuzzRecord(b"someone-else", other.value, "wrong key"), FuzzRecord(None, other.value, "null key")]
    sent.append(FuzzRecord(*_last_valid_event(), None))
    settings = settings_factory(partitions=3, engine=QUICK_IDLE)
    produce(settings.topics.events, [(r.key, r.value) for r in sent])

    worker = worker_factory(settings)
    counts = check_every_record(settings, sent, consume, worker, wait_for)
    assert counts["invalid"] == sum(not c.valid for c in event_corpus) + 6
    assert counts["events"] == len(valid) + 1  # the duplicate counted once


@hypothesis_settings(max_examples=4, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
@given(batch=fuzz_batches())
def test_fuzzed_records_straight_into_kafka(batch, settings_factory, produce, consume, worker_factory, wait_for):
    # One fresh topic set and worker per example (no shrinking: each run starts a worker).
    sent = [*batch, FuzzRecord(*_last_valid_event(), None)]
    settings = settings_factory(partitions=3, engine=QUICK_IDLE)
    produce(settings.topics.events, [(r.key, r.value) for r in sent])
    worker = worker_factory(settings)
    try:
        check_every_record(settings, sent, consume, worker, wait_for)
    finally:
        worker.stop()
