"""Hostile input through the running gateway: the corpus, then a hypothesis fuzz.

Whatever arrives, the gateway answers 202 (per-item results) or 400 (a body that is not
an event or an array of them), never 5xx; it never crashes; every valid item is
accepted, and written to Kafka exactly once; every invalid one is rejected with the
field and rule.
"""

import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import orjson
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cxpulse.schemas import InvalidEvent, parse_event


def _identities_in(consume, topic: str) -> Counter:
    return Counter((r.key.decode(), orjson.loads(r.value)["event_id"]) for r in consume(topic, timeout=30))


def _identity(item: dict) -> tuple[str, str]:
    return item["customer_id"], item["event_id"]


def test_each_corpus_case_alone(event_corpus, settings_factory, gateway_factory, wait_healthy, consume, openapi_check):
    settings = settings_factory()
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    document = gateway.get("/openapi.json").json()  # the running gateway's own contract
    expected: Counter = Counter()

    for case in event_corpus:
        answer = gateway.post(case.raw)
        assert answer.status < 500, case.name
        openapi_check(document, "POST", "/v1/events", answer.status, answer.headers, answer.body)
        if case.field is None and not case.valid:
            assert answer.status == 400, case.name
            assert answer.json()["error"] == "bad_request"
            continue
        assert answer.status == 202, case.name
        [result] = answer.json()["results"]
        if case.valid:
            assert result["status"] == "accepted", case.name
            assert result.get("duplicate", False) == (case.duplicate_of is not None), case.name
            expected[_identity(case.json_object)] = 1
        else:
            assert result["status"] == "rejected", case.name
            assert case.field in [error["field"] for error in result["errors"]], case.name
            assert all(error["reason"] for error in result["errors"])

    assert gateway.process.poll() is None
    assert _identities_in(consume, settings.topics.events) == expected


def test_the_corpus_as_one_batch(event_corpus, settings_factory, gateway_factory, wait_healthy, consume):
    settings = settings_factory()
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    objects = [case for case in event_corpus if case.json_object is not None]
    body = b"[" + b",".join(case.raw.strip() for case in objects) + b"]"

    answer = gateway.post(body)

    assert answer.status == 202
    results = answer.json()["results"]
    assert [r["index"] for r in results] == list(range(len(objects)))
    for case, result in zip(objects, results, strict=True):
        assert result["status"] == ("accepted" if case.valid else "rejected"), case.name
        if not case.valid:
            assert case.field in [error["field"] for error in result["errors"]], case.name
    written = _identities_in(consume, settings.topics.events)
    assert written == Counter({_identity(case.json_object) for case in objects if case.valid})


# --- the fuzz --------------------------------------------------------------------

_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 1, 1),
                      timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]))  # fmt: skip
_IDS = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@st.composite
def _valid_event(draw) -> dict:
    common = {
        "event_id": draw(_IDS), "customer_id": "C-" + draw(st.text("0123456789", min_size=1, max_size=3)),
        "occurred_at": draw(_TIMES).isoformat(), "channel": draw(st.sampled_from(["phone", "web", "app", "chat"])),
        "service_type": draw(st.sampled_from(["billing", "Outage", "repair"])),
    }  # fmt: skip
    kind = draw(st.sampled_from(["call", "ticket", "feedback"]))
    if kind == "call":
        extra = {"direction": draw(st.sampled_from(["inbound", "outbound"])), "wait_seconds": draw(st.floats(0, 1e4)),
                 "talk_seconds": draw(st.integers(0, 10_000)), "outcome": draw(st.sampled_from(["resolved", "abandoned"]))}  # fmt: skip
    elif kind == "ticket":
        extra = {"ticket_id": draw(_IDS), "action": draw(st.sampled_from(["opened", "resolved", "closed"]))}
    else:
        survey = draw(st.sampled_from(["csat", "nps", "ces"]))
        extra = {"survey": survey, "score": draw(st.integers(0, 10)), "comment": draw(st.text(max_size=40))}
    return {"event_type": kind, **common, **extra}


@st.composite
def _item(draw) -> object:
    event = draw(_valid_event())
    mutation = draw(st.sampled_from(["none", "none", "drop", "retype", "extra", "not-an-object"]))
    if mutation == "drop":
        event.pop(draw(st.sampled_from(sorted(event))))
    elif mutation == "retype":
        event[draw(st.sampled_from(sorted(event)))] = draw(_JSON)
    elif mutation == "extra":
        event[draw(st.text(min_size=1, max_size=10))] = draw(_JSON)
    elif mutation == "not-an-object":
        return draw(_JSON)
    return event


_BODIES = (
    _item().map(orjson.dumps)
    | st.lists(_item(), min_size=0, max_size=8).map(orjson.dumps)
    | st.binary(max_size=64)
    | _item().map(lambda item: orjson.dumps(item)[: max(1, len(orjson.dumps(item)) // 2)])
)


def _expected_items(body: bytes) -> list | None:
    """The items the gateway should see, or None when the body deserves a 400."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list) and 0 < len(document) <= 500:
        return document
    return None


def _valid(item: object, now: float) -> bool:
    try:
        parse_event(orjson.dumps(item), now=now)
    except InvalidEvent:
        return False
    return True


def test_fuzzed_bodies_never_break_the_gateway(settings_factory, gateway_factory, wait_healthy, consume):
    settings = settings_factory()
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    delivered: Counter = Counter()
    answered: Counter = Counter()

    @hypothesis_settings(max_examples=200, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(body=_BODIES)
    def check(body: bytes) -> None:
        answer = gateway.post(body)
        answered[answer.status] += 1
        items = _expected_items(body)
        if items is None:
            assert answer.status == 400, body
            return
        assert answer.status == 202, (body, answer.body)
        results = answer.json()["results"]
        assert len(results) == len(items)
        now = time.time()
        for item, result in zip(items, results, strict=True):
            if _valid(item, now):
                assert result["status"] == "accepted", (item, result)
                identity = _identity(item)
                assert result.get("duplicate", False) == (identity in delivered), (item, result)
                delivered[identity] = 1
            else:
                assert result["status"] == "rejected" and result["errors"], (item, result)

    check()

    assert gateway.process.poll() is None
    assert set(answered) <= {202, 400} and answered[202] and answered[400]
    assert _identities_in(consume, settings.topics.events) == delivered
