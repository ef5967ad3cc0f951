"""Hypothesis strategies for raw ``cx.events`` records: mostly valid events, bent in every way a producer could.

A drawn record is ``FuzzRecord(key, value, broken)``: the bytes as a producer would send
them and, when a mutation certainly makes it invalid, what broke (``None``: the worker's
rule decides; a "near the limit" string, a far-past time or a duplicate may well be valid).
"""

import json
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from hypothesis import strategies as st

__all__ = ["FuzzRecord", "fuzz_batches"]

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)
CUSTOMERS = [f"fz-{i:02d}" for i in range(12)]
SERVICES = ["billing", "outage", "repair", "account"]
CHANNELS = ["phone", "web", "app", "email", "chat", "counter", "social", "other"]
REQUIRED = ["event_id", "event_type", "customer_id", "occurred_at", "channel", "service_type"]
LIMITS = {"event_id": 128, "customer_id": 64, "service_type": 40}
DEEP, BAD_UTF8 = "__deep__", "__bad__"
# Values of the wrong type, each refused by the contract (see tests/corpus: *_string, *_number, epoch...).
WRONG_TYPES = [("customer_id", 12345), ("occurred_at", 1748851200), ("channel", ["phone"]), ("event_id", None),
               ("service_type", {"name": "billing"}), ("event_type", 3)]
OUT_OF_RANGE = {"call": [("wait_seconds", -1), ("sentiment", 1.5), ("outcome", "hung_up")],
                "ticket": [("action", "deleted"), ("priority", "whenever")],
                "feedback": [("score", 11), ("score", -2), ("score", 2.5)]}


class FuzzRecord(NamedTuple):
    key: bytes | None
    value: bytes
    broken: str | None  # what certainly makes it invalid, else None


def _at(moment: datetime) -> str:
    return moment.isoformat()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of any type."""
    kind = draw(st.sampled_from(["call", "ticket", "feedback"]))
    occurred = T0 + timedelta(seconds=draw(st.integers(0, 3 * 86400)))
    event: dict[str, Any] = {
        "event_id": f"fz-{draw(st.integers(0, 10**9))}", "event_type": kind,
        "customer_id": draw(st.sampled_from(CUSTOMERS)), "occurred_at": _at(occurred),
        "channel": draw(st.sampled_from(CHANNELS)), "service_type": draw(st.sampled_from(SERVICES)),
    }
    if draw(st.booleans()):
        event["segment"] = draw(st.sampled_from(["standard", "key", "vip", "vulnerable"]))
    if kind == "call":
        event.update(direction=draw(st.sampled_from(["inbound", "outbound"])), wait_seconds=draw(st.integers(0, 900)),
                     talk_seconds=draw(st.integers(0, 1800)), is_complaint=draw(st.booleans()),
                     outcome=draw(st.sampled_from(["resolved", "unresolved", "transferred", "escalated", "abandoned",
                                                   "callback"])))
        if draw(st.booleans()):
            event["sentiment"] = draw(st.floats(-1.0, 1.0))
    elif kind == "ticket":
        event.update(ticket_id=f"t-{draw(st.integers(0, 3))}", action=draw(st.sampled_from(
            ["opened", "updated", "escalated", "reopened", "resolved", "closed"])), is_complaint=draw(st.booleans()))
        if draw(st.booleans()):
            event["due_at"] = _at(occurred + timedelta(hours=draw(st.integers(1, 48))))
    else:
        survey, top = draw(st.sampled_from([("csat", 5), ("nps", 10), ("ces", 7), ("comment", None)]))
        event["survey"] = survey
        if top is not None:
            event["score"] = draw(st.integers(0 if survey == "nps" else 1, top))
        if draw(st.booleans()) or top is None:
            event["comment"] = draw(st.text(max_size=60))
    return event


@st.composite
def records(draw: st.DrawFn) -> FuzzRecord:
    """One record: an event, perhaps bent, serialized, perhaps with the wrong key."""
    event = draw(events())
    mutation = "none" if draw(st.booleans()) else draw(st.sampled_from(
        ["drop", "wrong_type", "extra", "near_limit", "deep", "bad_utf8", "out_of_range", "future", "far_past",
         "truncated", "not_object", "huge"]))
    broken = _mutate(draw, event, mutation)
    value = json.dumps(event, ensure_ascii=False).encode("utf-8")
    if mutation == "deep":
        depth = draw(st.integers(50, 3000))
        value = value.replace(f'"{DEEP}"'.encode(), b"[" * depth + b"1" + b"]" * depth)
    elif mutation == "bad_utf8":
        value = value.replace(BAD_UTF8.encode(), b"\xff\xfe")
    elif mutation == "truncated":
        value = value[: draw(st.integers(1, len(value) - 1))]
    elif mutation == "not_object":
        value = draw(st.sampled_from([b"[]", b"null", b"42", b'"an event"', b"", b"true", b"{}{}"]))
    customer = event.get("customer_id")
    key_kind = draw(st.sampled_from(["customer"] * 6 + ["other", "none"]))
    key = {"customer": str(customer).encode("utf-8") if isinstance(customer, str) else b"fz-00",
           "other": b"someone-else", "none": None}[key_kind]
    if key_kind != "customer":
        broken = broken or f"key {key_kind}"
    return FuzzRecord(key, value, broken)


def _mutate(draw: st.DrawFn, event: dict[str, Any], mutation: str) -> str | None:
    """Bend ``event`` in place; return what certainly broke it, or None."""
    if mutation == "drop":
        field = draw(st.sampled_from(REQUIRED))
        del event[field]
        return f"missing {field}"
    if mutation == "wrong_type":
        field, value = draw(st.sampled_from(WRONG_TYPES))
        event[field] = value
        return f"{field} of the wrong type"
    if mutation == "extra":
        event[draw(st.sampled_from(["loyalty_tier", "x", "priority_score"]))] = draw(st.integers(0, 9))
        return "an unknown field"
    if mutation == "near_limit":  # one character under, at, or over the limit
        field = draw(st.sampled_from(sorted(LIMITS)))
        length = LIMITS[field] + draw(st.integers(-1, 1))
        event[field] = ("a" * length) if field != "customer_id" else ("c" * length)
        return f"{field} over {LIMITS[field]}" if length > LIMITS[field] else None
    if mutation == "huge":  # a string far beyond any limit, still under Kafka's 1 MB
        event[draw(st.sampled_from(["comment", "event_id", "service_type"]))] = "h" * draw(st.integers(3000, 200_000))
        return "a huge string"
    if mutation == "deep":
        event[draw(st.sampled_from(["service_type", "channel", "event_id"]))] = DEEP
        return "deep nesting"
    if mutation == "bad_utf8":
        event["service_type"] = f"bil{BAD_UTF8}ling"
        return "invalid UTF-8"
    if mutation == "out_of_range":
        choices = OUT_OF_RANGE[event["event_type"]]
        if event["event_type"] == "feedback" and event["survey"] == "comment":
            return None  # a comment has no score to put out of range
        field, value = draw(st.sampled_from(choices))
        event[field] = value
        return f"{field} out of range"
    if mutation == "future":  # more than the default day ahead of the moment the record is read
        event["occurred_at"] = _at(datetime.now(timezone.utc) + timedelta(days=draw(st.integers(2, 4000))))
        return "occurred_at in the future"
    if mutation == "far_past":
        event["occurred_at"] = _at(datetime(draw(st.integers(1971, 2015)), 1, 1, tzinfo=timezone.utc))
        return None
    if mutation == "truncated":
        return "truncated JSON"
    if mutation == "not_object":
        return "not a JSON object"
    return None


@st.composite
def fuzz_batches(draw: st.DrawFn, min_size: int = 30, max_size: int = 70) -> list[FuzzRecord]:
    """Records, with some earlier ones sent again (the same bytes: duplicates)."""
    batch = draw(st.lists(records(), min_size=min_size, max_size=max_size))
    for index in draw(st.lists(st.integers(0, len(batch) - 1), max_size=5)):
        batch.append(batch[index])
    return batch
