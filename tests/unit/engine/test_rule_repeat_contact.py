"""repeat_contact: >= 3 inbound contacts on one service type within 72 h (critical at 5)."""

import pytest

from cxpulse.processors.engine import alert_id
from cxpulse.schemas import Alert

from .factories import DAY, HOUR, EventFactory, at, run


@pytest.mark.parametrize("times, expected", [
    ([0, HOUR], []),
    ([0, HOUR, 2 * HOUR], [("repeat_contact", "warning", "firing")]),
    # Inclusive window: a contact exactly 72 h earlier still counts.
    ([0, 36 * HOUR, 72 * HOUR], [("repeat_contact", "warning", "firing")]),
    ([0, 36 * HOUR, 72 * HOUR + 1], []),
    # The 4th is inside the cooldown at the same severity; the 5th raises it to critical.
    ([0, 1, 2, 3, 4], [("repeat_contact", "warning", "firing"), ("repeat_contact", "critical", "firing")]),
])
def test_threshold_and_window_edges(times, expected):
    f = EventFactory()
    assert run([f.call(t) for t in times]).fired("repeat_contact") == expected


def test_service_types_and_customers_do_not_mix():
    f = EventFactory()
    events = [f.call(0), f.call(1, service_type="repair"), f.call(2),
              f.call(3, customer_id="C-2"), f.call(4, service_type="repair")]
    assert run(events).fired("repeat_contact") == []


def test_only_inbound_contacts_count():
    f = EventFactory()
    events = [f.call(0), f.call(1, direction="outbound"), f.ticket(2, action="updated"),
              f.feedback(3), f.call(4)]
    assert run(events).fired("repeat_contact") == []


def test_tickets_opened_count_as_contacts():
    f = EventFactory()
    events = [f.call(0), f.ticket(1, "T-1"), f.ticket(2, "T-2")]
    assert run(events).fired("repeat_contact") == [("repeat_contact", "warning", "firing")]


@pytest.mark.parametrize("gap, refires", [(DAY, True), (DAY - 1, False)])
def test_cooldown_is_24h_of_event_time(gap, refires):
    f = EventFactory()
    first = [f.call(0), f.call(1), f.call(2)]
    # Three more contacts later; the window still holds >= 3 when the last arrives.
    later = [f.call(2 + gap)]
    r = run(first + later)
    assert r.fired("repeat_contact") == [("repeat_contact", "warning", "firing")] * (2 if refires else 1)


@pytest.mark.parametrize("segment, severity", [("standard", "warning"), ("vip", "critical"),
                                                ("key", "critical"), ("vulnerable", "critical")])
def test_segment_raises_severity(segment, severity):
    f = EventFactory(segment=segment)
    assert run([f.call(t) for t in (0, 1, 2)]).fired("repeat_contact") == [("repeat_contact", severity, "firing")]


def test_alert_content():
    f = EventFactory(customer_id="C-1042")
    events = [f.call(0, event_id="a"), f.call(HOUR, event_id="b"), f.call(2 * HOUR, event_id="c")]
    r = run(events)
    (alert,) = [a for a in r.alerts if a.rule == "repeat_contact"]
    Alert.model_validate(alert.model_dump())  # the engine's fast construction is still valid
    assert alert.alert_id == alert_id("repeat_contact", "C-1042", "billing", "c")
    assert alert.customer_id == "C-1042" and alert.service_type == "billing"
    assert alert.triggered_at == at(2 * HOUR)
    assert alert.evidence == ["a", "b", "c"]
    assert alert.score == pytest.approx(r.last.score) and alert.risk_band == r.last.band_after
    assert alert.segment == "standard" and alert.emitted_at is None
    assert alert.summary.startswith("C-1042 contacted billing 3 times within 72 h (score ")


def test_late_contact_fills_the_window_and_triggers():
    """t1, t3 then a late t2 within 72 h: the window now holds 3; the late event triggers."""
    f = EventFactory()
    events = [f.call(0, event_id="t1"), f.call(70 * HOUR, event_id="t3"), f.call(35 * HOUR, event_id="t2")]
    r = run(events)
    (alert,) = [a for a in r.alerts if a.rule == "repeat_contact"]
    assert alert.alert_id == alert_id("repeat_contact", "C-1", "billing", "t2")
    assert alert.triggered_at == at(35 * HOUR)
    assert alert.evidence == ["t1", "t2", "t3"]


def test_late_contact_outside_every_window_does_not_trigger():
    f = EventFactory()
    events = [f.call(0), f.call(100 * HOUR), f.call(200 * HOUR), f.call(150 * HOUR)]
    # 150 h is within 72 h of 100 h and 200 h, but those two are 100 h apart: no window of 3.
    assert run(events).fired("repeat_contact") == []


def test_late_contact_rescores_later_contacts():
    """The score does not depend on arrival order: a later contact becomes a repeat."""
    f = EventFactory()
    in_order = run([f.call(0, event_id="x", outcome="resolved"), f.call(HOUR, event_id="y", outcome="resolved")])
    late = run([f.call(HOUR, event_id="y", outcome="resolved"), f.call(0, event_id="x", outcome="resolved")])
    assert late.last.score == pytest.approx(in_order.last.score)
    assert "first_contact_resolution_withdrawn" in late.last.signals
    assert "repeat_contact" in late.last.signals
