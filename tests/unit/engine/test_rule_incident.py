"""incident: >= 25 distinct customers with inbound contacts on one service type within 15 min."""

import random

import pytest

from cxpulse.processors.engine import Contact, IncidentEngine, IncidentState, alert_id
from cxpulse.schemas import Alert

from .factories import HOUR, MIN, T0_EPOCH


def contacts(n: int, spacing: float = 10.0, start: float = 0.0, svc: str = "outage", prefix: str = "C") -> list[Contact]:
    return [Contact(svc, f"{prefix}-{i}", T0_EPOCH + start + i * spacing, f"{prefix}-ev{i}") for i in range(n)]


def feed(items, engine: IncidentEngine | None = None, state: IncidentState | None = None):
    engine = engine or IncidentEngine()
    alerts = []
    for contact in items:
        state, found = engine.step(state, contact)
        alerts += found
    return state, alerts


@pytest.mark.parametrize("n, fires", [(24, False), (25, True), (60, True)])
def test_threshold(n, fires):
    _, alerts = feed(contacts(n))
    assert len(alerts) == (1 if fires else 0)


def test_alert_fields():
    _, (alert,) = feed(contacts(25))
    Alert.model_validate(alert.model_dump())
    assert alert.rule == "incident" and alert.severity == "critical" and alert.customer_id is None
    assert alert.segment is None and alert.score is None and alert.service_type == "outage"
    assert alert.triggered_at.timestamp() == T0_EPOCH + 240
    assert len(alert.evidence) == 25
    assert alert.summary == "25 customers contacted outage within 15 min"


def test_repeat_contacts_of_one_customer_count_once():
    items = contacts(24) + [Contact("outage", "C-0", T0_EPOCH + 300, "again")]
    assert feed(items)[1] == []


def test_service_types_are_separate_states():
    engine = IncidentEngine()
    a, alerts_a = feed(contacts(20, svc="outage"), engine)
    b, alerts_b = feed(contacts(20, svc="billing"), engine)
    assert alerts_a == alerts_b == [] and a is not b


@pytest.mark.parametrize("spacing, fires", [(15 * MIN / 24, True), (15 * MIN / 24 + 0.01, False)])
def test_window_is_inclusive(spacing, fires):
    assert len(feed(contacts(25, spacing=spacing))[1]) == (1 if fires else 0)


def test_once_per_service_type_per_cooldown_with_distinct_ids():
    first = contacts(40, spacing=10)
    during = contacts(30, spacing=10, start=30 * MIN, prefix="D")
    after = contacts(30, spacing=10, start=HOUR + 10 * MIN, prefix="E")
    _, alerts = feed(first + during + after)
    assert len(alerts) == 2
    assert alerts[0].alert_id != alerts[1].alert_id


def test_id_is_the_service_type_and_the_event_time_bucket():
    _, (alert,) = feed(contacts(25))
    bucket = int((T0_EPOCH + 240) // HOUR)
    assert alert.alert_id == alert_id("incident", None, "outage", f"bucket:{bucket}:3600")


def test_arrival_order_does_not_change_the_id():
    items = contacts(30, spacing=5)
    _, reference = feed(items)
    for seed in range(20):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        _, alerts = feed(shuffled)
        assert [a.alert_id for a in alerts] == [a.alert_id for a in reference]


def test_late_contacts_complete_an_earlier_window():
    items = contacts(25, spacing=10)
    _, alerts = feed(items[1:] + items[:1])  # the first contact arrives last
    assert len(alerts) == 1 and alerts[0].triggered_at.timestamp() == T0_EPOCH + 240


def test_state_is_bounded_and_round_trips():
    engine = IncidentEngine()
    state, _ = feed(contacts(500, spacing=1), engine)
    assert len(state.order) == len(state.latest) == 50
    restored = IncidentState.from_bytes(state.to_bytes())
    assert restored == state
    more = contacts(30, spacing=10, start=2 * HOUR, prefix="F")
    assert [a.alert_id for a in feed(more, engine, state)[1]] == [a.alert_id for a in feed(more, engine, restored)[1]]
