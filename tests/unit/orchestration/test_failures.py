"""No record, valid or not, stops the pipeline (issue 14.3).

An exception while one record is processed dead-letters that record with the exception's
type and message and processing goes on, in the worker and in the replay alike (the core
raises ``RecordFailed``). A property test feeds extreme-but-schema-valid events (times at
the edges of 1970..9999 UTC, maximum lengths, every enum value, the largest numbers)
through the worker's batch code, the snapshot and alert JSON, the read API and the
agent brief, and through the replay.
"""

import json
import logging
from datetime import datetime, timezone

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from cxpulse.processors.engine import Engine, EngineDriver, EngineSettings, IncidentEngine, RecordFailed
from cxpulse.processors.engine.orchestration import failure_reason
from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.readmodel import customer_view
from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor
from cxpulse.schemas import Alert, InvalidEvent, ScoreSnapshot, parse_event

from tests.unit.worker.conftest import HOUR, ListSink, faust_message

from .conftest import breaches

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog",
                      warnings="warnings")


class FailingEngine:
    """The real engine, made to raise on one event id (a bug a record could hit). A wrapper, not a
    subclass: the engine is a compiled (mypyc) class, which interpreted classes cannot extend."""

    def __init__(self, settings: EngineSettings) -> None:
        self._engine = Engine(settings)

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def step(self, state, event):
        if event.event_id == "boom":
            raise RuntimeError("injected failure")
        return self._engine.step(state, event)


def test_a_record_that_raises_is_dead_lettered_and_the_next_one_is_processed(reader_factory, events):
    settings = EngineSettings()
    reader = reader_factory(settings, FailingEngine(settings))
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR))
    reader.read(0, events.call(10, customer="B", event_id="boom"))
    assert reader.failed == ["processing failed: RuntimeError: injected failure"]
    found = reader.read(0, events.call(2 * HOUR, customer="B"))  # the pipeline goes on
    assert breaches(found) == [("A", "firing")]


def test_the_worker_logs_a_kind_once_and_never_a_value(events, caplog):
    settings = EngineSettings()
    scoring = ScoringProcessor(FailingEngine(settings), TOPICS, {}, SlaClock(), 86400.0)
    secret = "C-secret-42"
    messages = [faust_message("cx.events", 0, i, secret.encode(), orjson.dumps(events.call(i, customer=secret, event_id="boom")),
                              2e9) for i in range(3)]
    with caplog.at_level(logging.ERROR, logger="cxpulse.processors.worker.scoring"):
        stats = scoring.process(messages, ListSink(), ListSink(), "x")
    assert (stats.failed, stats.invalid, stats.failures) == (3, 3, ["RuntimeError"] * 3)
    assert len(caplog.records) == 1 and "RuntimeError" in caplog.text and secret not in caplog.text


def test_a_failure_reason_is_one_bounded_line():
    reason = failure_reason(ValueError("line one\nline two " + "x" * 500))
    assert reason.startswith("processing failed: ValueError: line one")
    assert "\n" not in reason and len(reason) < 260
    assert failure_reason(KeyError()) == "processing failed: KeyError"
    assert isinstance(RecordFailed(OverflowError("big")), Exception)


# --- the property ----------------------------------------------------------------------

EDGE_TIMES = ["1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z", "1970-01-02T00:00:00+23:59",
              "9999-12-31T23:59:59Z", "9999-12-31T23:59:58Z", "9999-12-31T00:00:00-23:59",
              "2025-03-03T09:00:00Z", "2025-03-03T09:00:00.000001+00:00"]
CHANNELS = ["phone", "web", "app", "email", "chat", "counter", "social", "other"]
SEGMENTS = ["standard", "key", "vip", "vulnerable"]
# NaN and infinity are not JSON: written as Python's json writes them (NaN, Infinity), refused.
NUMBERS = [0.0, 1e-300, 300.0, 1e15, 1.7976931348623157e308, float("nan"), float("inf")]

times = st.sampled_from(EDGE_TIMES)
ids = st.sampled_from(["e", "E" * 128, "é" * 128, "id-with-\u00e9"])
customers = st.sampled_from(["A", "Z" * 64, "c.1:2-3_4"])
services = st.sampled_from(["billing", "S" * 40, "服务" * 20, "outage"])
common = st.fixed_dictionaries({"event_id": ids, "customer_id": customers, "occurred_at": times,
                                "channel": st.sampled_from(CHANNELS), "service_type": services,
                                "segment": st.sampled_from(SEGMENTS)})
contact_ids = st.one_of(st.none(), st.sampled_from(["k", "K" * 128]))
call = st.fixed_dictionaries({
    "event_type": st.just("call"), "direction": st.sampled_from(["inbound", "outbound"]),
    "wait_seconds": st.sampled_from(NUMBERS), "talk_seconds": st.sampled_from(NUMBERS),
    "outcome": st.sampled_from(["resolved", "unresolved", "transferred", "escalated", "abandoned", "callback"]),
    "is_complaint": st.booleans(), "sentiment": st.sampled_from([None, -1.0, 1.0, -0.5000001, 0.0, float("nan")]),
    "agent_id": st.sampled_from([None, "a" * 64]), "contact_id": contact_ids})
ticket = st.fixed_dictionaries({
    "event_type": st.just("ticket"), "ticket_id": st.sampled_from(["t", "T" * 128]),
    "action": st.sampled_from(["opened", "updated", "escalated", "reopened", "resolved", "closed"]),
    "priority": st.sampled_from([None, "low", "normal", "high", "urgent"]), "is_complaint": st.booleans(),
    "due_at": st.one_of(st.none(), times), "contact_id": contact_ids})
feedback = st.one_of(
    st.fixed_dictionaries({"event_type": st.just("feedback"), "survey": st.just("csat"), "score": st.integers(1, 5)}),
    st.fixed_dictionaries({"event_type": st.just("feedback"), "survey": st.just("nps"), "score": st.integers(0, 10)}),
    st.fixed_dictionaries({"event_type": st.just("feedback"), "survey": st.just("ces"), "score": st.integers(1, 7)}),
    st.fixed_dictionaries({"event_type": st.just("feedback"), "survey": st.just("comment"),
                           "comment": st.sampled_from(["", "c" * 2000, "\u202e\u2028 x"]),
                           "related_ticket_id": st.sampled_from(["t", "T" * 128]), "is_complaint": st.booleans()}))
account = st.fixed_dictionaries({
    "event_type": st.just("account"), "action": st.sampled_from(["cancelled", "not_renewed", "downgraded",
                                                                 "reactivated"]),
    "reason": st.sampled_from([None, "r" * 64, "price/moved: x"])})
start = st.fixed_dictionaries({"event_type": st.just("contact_started"), "contact_id": st.sampled_from(["k", "K" * 128]),
                               "queue": st.sampled_from([None, "q" * 64])})
# How long before (negative: after) the event its record was written, in seconds.
record_skews = st.sampled_from([0.0, 1.0, -3600.0, 86400.0 * 2, -86400.0 + 1])


def _event(common_fields: dict, body: dict) -> dict:
    event = {**common_fields, **body}
    return {k: v for k, v in event.items() if v is not None}


events_ = st.builds(_event, common, st.one_of(call, ticket, feedback, account, start))
streams = st.lists(st.tuples(events_, record_skews, st.integers(0, 2)), min_size=1, max_size=25)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp()


def _record_time(event: dict, skew: float) -> float:
    at = _epoch(event["occurred_at"]) + skew
    return min(max(at, 0.0), datetime(9999, 12, 31, tzinfo=timezone.utc).timestamp())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_extreme_valid_events_never_stop_the_worker_or_the_replay(stream):
    engine_settings = EngineSettings(incident_customers=2, incident_max_contacts=4)
    engine = Engine(engine_settings)
    store: dict[bytes, bytes] = {}
    scoring = ScoringProcessor(engine, TOPICS, store, SlaClock(), 86400.0, cache_size=4)
    incidents = IncidentProcessor(IncidentEngine(engine_settings), {}, "alerts", "changelog")
    driver = EngineDriver(engine_settings)
    messages = []
    for offset, (event, skew, partition) in enumerate(stream):
        messages.append(faust_message("cx.events", partition, offset, event["customer_id"].encode(),
                                      json.dumps(event).encode(), _record_time(event, skew)))
    effects, state = ListSink(), ListSink()
    stats = scoring.process(messages, effects, state, "2030-01-01T00:00:00+00:00")
    # Every record is accounted for: processed, or dead-lettered with a reason.
    assert stats.events == len(messages)
    processed = sum(1 for ts, event, _ in stats.observed if event is not None)
    assert processed + stats.invalid == len(messages)
    assert len([r for r in effects.records if r[0] == "dlq"]) == stats.invalid
    for topic, _, value, _ in effects.records:
        if topic == "alerts":
            Alert.model_validate_json(value)
    for topic, _, value, _ in state.records:
        if topic == "scores":
            ScoreSnapshot.model_validate_json(value)
    contacts = [faust_message("contacts", 0, n, k, v or b"") for n, (t, k, v, _) in enumerate(effects.records)
                if t == "contacts"]
    raised: list = []
    incidents.process(contacts, ListSink(), ListSink(), "2030-01-01T00:00:00+00:00", raised)
    for alert in raised:
        Alert.model_validate_json(alert.model_dump_json())
    # The read API and the agent brief of every stored customer.
    from cxpulse.processors.engine import CustomerState
    for data in store.values():
        customer = CustomerState.from_bytes(data)
        orjson.dumps(customer_view(engine, customer))
        engine.brief(customer, max(customer.ref, scoring.clock.now))
    # The replay: what it did not dead-letter at the door, it feeds or counts as failed.
    for message in messages:
        try:
            event = parse_event(message.value, now=message.timestamp, max_future_seconds=86400.0)
        except InvalidEvent:
            continue
        try:
            driver.feed(event, message.partition, message.timestamp)
        except RecordFailed as failure:
            assert failure.reason.startswith("processing failed: ")
    driver.finish()
    assert driver.failed == stats.failed


def test_a_contacts_record_that_raises_is_skipped_and_the_incident_agent_goes_on():
    from cxpulse.processors.engine import Contact
    from cxpulse.processors.worker.records import contact_record, mark_record

    processor = IncidentProcessor(IncidentEngine(EngineSettings(incident_customers=2)), {}, "alerts", "changelog")
    t = 1_750_000_000.0
    good = [faust_message("contacts", 0, n, k, v)
            for n, (k, v) in enumerate(contact_record(Contact("outage", f"C-{n}", t + n, f"e-{n}")) for n in range(2))]
    broken = faust_message("contacts", 0, 2, b"outage", b"[1, 2]")  # not a contact
    mark = faust_message("contacts", 0, 3, None, mark_record({0: t + 3600}, 1, t + 3600))
    raised: list = []
    processor.process([good[0], broken, good[1], mark], ListSink(), ListSink(), "x", raised)
    assert processor.failed == 1 and [a.rule for a in raised] == ["incident"]
