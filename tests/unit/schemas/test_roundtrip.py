"""Property: every valid event survives dumps_event -> parse_event unchanged."""

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cxpulse.schemas import parse_event
from cxpulse.schemas.events import SURVEY_RANGES, dumps_event
from cxpulse.schemas.safetext import UNSAFE

OFFSETS = st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))])
# The whole valid range (docs/rules.md: 1970..9999 in UTC), a day inside it for the offsets.
TIMESTAMPS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS)
CUSTOMER_IDS = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)


def _text(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(min_size=low, max_size=high)


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


COMMON = {
    "event_id": _text(1, 128),
    "customer_id": CUSTOMER_IDS,
    "occurred_at": TIMESTAMPS.map(_stamp),
    "channel": st.sampled_from(["phone", "web", "app", "email", "chat", "counter", "social", "other"]),
    "service_type": _text(1, 40).filter(lambda text: not UNSAFE.search(text.replace("\\", ""))),  # printable
}
OPTIONAL_COMMON = {"segment": st.sampled_from(["standard", "key", "vip", "vulnerable"]), "schema_version": st.just(1)}

CALLS = st.fixed_dictionaries(
    {
        **COMMON,
        "event_type": st.just("call"),
        "direction": st.sampled_from(["inbound", "outbound"]),
        "wait_seconds": st.floats(min_value=0, max_value=1e6) | st.integers(0, 10**6),
        "talk_seconds": st.floats(min_value=0, max_value=1e6),
        "outcome": st.sampled_from(["resolved", "unresolved", "transferred", "escalated", "abandoned", "callback"]),
    },
    optional={
        **OPTIONAL_COMMON,
        "is_complaint": st.booleans(),
        "sentiment": st.floats(min_value=-1, max_value=1),
        "agent_id": _text(1, 64),
    },
)
TICKETS = st.fixed_dictionaries(
    {
        **COMMON,
        "event_type": st.just("ticket"),
        "ticket_id": _text(1, 128),
        "action": st.sampled_from(["opened", "updated", "escalated", "reopened", "resolved", "closed"]),
    },
    optional={
        **OPTIONAL_COMMON,
        "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
        "is_complaint": st.booleans(),
        "due_at": TIMESTAMPS.map(_stamp),
    },
)


@st.composite
def feedback(draw: st.DrawFn) -> dict:
    survey = draw(st.sampled_from(["csat", "nps", "ces", "comment"]))
    event = draw(
        st.fixed_dictionaries(
            {**COMMON, "event_type": st.just("feedback"), "survey": st.just(survey)},
            optional={
                **OPTIONAL_COMMON,
                "comment": _text(0, 2000),
                "related_ticket_id": _text(1, 128),
                "is_complaint": st.booleans(),
            },
        )
    )
    if survey in SURVEY_RANGES:
        event["score"] = draw(st.integers(*SURVEY_RANGES[survey]))
    return event


ACCOUNTS = st.fixed_dictionaries(
    {
        "event_id": _text(1, 128),
        "customer_id": CUSTOMER_IDS,
        "occurred_at": TIMESTAMPS.map(_stamp),
        "event_type": st.just("account"),
        "action": st.sampled_from(["cancelled", "not_renewed", "downgraded", "reactivated"]),
    },
    optional={
        **OPTIONAL_COMMON,
        "channel": COMMON["channel"],
        "service_type": COMMON["service_type"],
        "reason": st.from_regex(r"[A-Za-z0-9._:/ -]{1,64}", fullmatch=True),
    },
)

EVENTS = st.one_of(CALLS, TICKETS, feedback(), ACCOUNTS)


@given(EVENTS)
def test_dumps_then_parse_gives_the_same_event(raw):
    event = parse_event(json.dumps(raw))

    again = parse_event(dumps_event(event))

    assert again == event
    assert again.occurred_at.utcoffset() == event.occurred_at.utcoffset()


@given(EVENTS)
def test_parsing_keeps_every_field_given(raw):
    event = parse_event(json.dumps(raw).encode("utf-8"))

    dumped = json.loads(dumps_event(event))

    for field, value in raw.items():
        if field in ("occurred_at", "due_at"):
            assert datetime.fromisoformat(dumped[field]) == datetime.fromisoformat(value)
        elif field == "service_type":
            assert dumped[field] == value.lower()
        else:
            assert dumped[field] == value
