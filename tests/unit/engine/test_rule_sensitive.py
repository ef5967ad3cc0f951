"""sensitive_customer (>= 2 grievances on one service type within 30 d) and sensitive_contact."""

import pytest

from cxpulse.processors.engine import alert_id

from .factories import DAY, HOUR, T0_EPOCH, EventFactory, run

SENSITIVE = [("sensitive_customer", "warning", "firing")]


@pytest.mark.parametrize("build, expected", [
    (lambda f: [f.call(0, complaint=True)], []),
    (lambda f: [f.call(0, complaint=True), f.call(DAY, complaint=True)], SENSITIVE),
    (lambda f: [f.call(0, complaint=True), f.feedback(DAY, "csat", 2)], SENSITIVE),
    (lambda f: [f.feedback(0, "nps", 3), f.feedback(DAY, "ces", 1)], SENSITIVE),
    (lambda f: [f.call(0, complaint=True), f.feedback(DAY, "csat", 3)], []),
    (lambda f: [f.call(0, complaint=True), f.call(DAY, complaint=True, service_type="repair")], []),
    # Inclusive 30-day window.
    (lambda f: [f.call(0, complaint=True), f.call(30 * DAY, complaint=True)], SENSITIVE),
    (lambda f: [f.call(0, complaint=True), f.call(30 * DAY + 1, complaint=True)], []),
    # A dissatisfied complaint is one grievance, not two.
    (lambda f: [f.feedback(0, "csat", 1, complaint=True)], []),
    # One complaint ticket is one complaint, however many of its events carry the flag.
    (lambda f: [f.ticket(0, "T-1", complaint=True), f.ticket(HOUR, "T-1", "updated", complaint=True),
                f.ticket(2 * HOUR, "T-1", "resolved", complaint=True)], []),
    (lambda f: [f.ticket(0, "T-1", complaint=True), f.ticket(HOUR, "T-2", complaint=True)], SENSITIVE),
])
def test_threshold_window_and_counting(build, expected):
    assert run(build(EventFactory())).fired("sensitive_customer") == expected


def test_a_complaint_ticket_counts_its_points_once():
    f = EventFactory()
    r = run([f.ticket(0, "T-1", complaint=True), f.ticket(0, "T-1", "updated", complaint=True)])
    assert r.results[0].signals == ("inbound_contact", "complaint")
    assert r.results[1].signals == ()


def test_customer_is_sensitive_for_90_days_from_the_second_grievance():
    f = EventFactory()
    r = run([f.call(0, complaint=True), f.call(DAY, complaint=True)])
    state = r.state
    assert state.is_sensitive()
    assert state.sensitive_since == T0_EPOCH + DAY
    assert state.sensitive_until == T0_EPOCH + DAY + 90 * DAY
    assert r.engine.snapshot(state).sensitive


@pytest.mark.parametrize("contact_at, fires", [(2 * DAY, True), (91 * DAY - 1, True), (91 * DAY, False)])
def test_sensitive_contact_while_sensitive(contact_at, fires):
    f = EventFactory()
    events = [f.call(0, complaint=True, direction="outbound"), f.feedback(DAY, "csat", 1),
              f.call(contact_at, service_type="repair", event_id="c")]
    r = run(events)
    expected = [("sensitive_contact", "warning", "firing")] if fires else []
    assert r.fired("sensitive_contact") == expected
    if fires:
        (alert,) = [a for a in r.alerts if a.rule == "sensitive_contact"]
        assert alert.service_type == "repair"
        assert alert.alert_id == alert_id("sensitive_contact", "C-1", "repair", "c")
        assert alert.evidence[-1] == "c" and len(alert.evidence) == 3


def test_the_contact_that_makes_a_customer_sensitive_does_not_warn():
    f = EventFactory()
    r = run([f.call(0, complaint=True), f.ticket(HOUR, "T-9", complaint=True)])
    assert r.fired("sensitive_customer") == SENSITIVE
    assert r.fired("sensitive_contact") == []


def test_sensitive_contact_cooldown_per_service_type():
    f = EventFactory()
    r = run([f.call(0, complaint=True, direction="outbound"), f.call(1, complaint=True, direction="outbound"),
             f.call(HOUR), f.call(2 * HOUR), f.call(3 * HOUR, service_type="repair"), f.call(DAY + HOUR)])
    assert r.fired("sensitive_contact") == [("sensitive_contact", "warning", "firing")] * 3


def test_segment_raises_sensitive_alerts():
    f = EventFactory(segment="vulnerable")
    r = run([f.call(0, complaint=True), f.call(1, complaint=True), f.call(HOUR)])
    assert r.fired("sensitive_customer") == [("sensitive_customer", "critical", "firing")]
    assert r.fired("sensitive_contact") == [("sensitive_contact", "critical", "firing")]


def test_late_grievance_makes_the_customer_sensitive_from_the_window_it_completes():
    f = EventFactory()
    # Complaints at 0 and 32 d are too far apart; a late one at 16 d joins both windows.
    r = run([f.call(0, complaint=True), f.call(32 * DAY, complaint=True),
             f.call(16 * DAY, complaint=True, event_id="late")])
    (alert,) = [a for a in r.alerts if a.rule == "sensitive_customer"]
    assert alert.alert_id == alert_id("sensitive_customer", "C-1", "billing", "late")
    assert alert.evidence == ["e1", "late"]  # the fullest window holding the late event
    assert r.state.sensitive_since == T0_EPOCH + 16 * DAY  # the first window it completes ends at 16 d
    assert r.state.sensitive_until == T0_EPOCH + 122 * DAY  # extended by the window ending at 32 d


def test_an_event_later_than_the_tolerance_may_miss_trimmed_partners():
    """Documented limit: entries older than window + late_tolerance_seconds are gone."""
    f = EventFactory()
    events = [f.call(0, complaint=True), f.call(40 * DAY, complaint=True), f.call(20 * DAY, complaint=True)]
    assert run(events).state.sensitive_since == T0_EPOCH + 40 * DAY  # the window ending at 0 d... is lost
    assert run(events, late_tolerance_seconds=20 * DAY).state.sensitive_since == T0_EPOCH + 20 * DAY
