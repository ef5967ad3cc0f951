"""sla_breach: a ticket with due_at not resolved or closed by then; lifecycle and resolution."""

import pytest

from cxpulse.processors.engine import alert_id
from cxpulse.processors.engine.tickets import breach_trigger

from .factories import DAY, HOUR, T0_EPOCH, EventFactory, at, run

FIRING = ("sla_breach", "warning", "firing")
RESOLVED = ("sla_breach", "warning", "resolved")


def sla_id(tid: str, due: float, customer: str = "C-1", svc: str = "billing") -> str:
    return alert_id("sla_breach", customer, svc, breach_trigger(tid, T0_EPOCH + due))


def test_resolved_before_due_earns_a_credit_and_no_alert():
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR), f.ticket(HOUR, action="resolved")])  # exactly at due: on time
    assert r.fired() == []
    assert r.last.signals == ("resolved_before_due",)
    assert r.state.tickets == {}


@pytest.mark.parametrize("clock, breached", [(HOUR, False), (HOUR + 0.001, True)])
def test_clock_finds_the_breach_strictly_after_due(clock, breached):
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR)])
    result = r.check_sla("C-1", clock)
    assert r.fired() == ([FIRING] if breached else [])
    if breached:
        (alert,) = result.alerts
        assert alert.triggered_at == at(HOUR)
        assert alert.alert_id == sla_id("T-1", HOUR)
        assert result.signals == ("sla_breach",)
        assert r.engine.check_sla(r.state, T0_EPOCH + DAY).alerts == []  # breaches once


@pytest.mark.parametrize("kw, severity", [({}, "warning"), ({"priority": "urgent"}, "critical"),
                                          ({"complaint": True}, "critical"), ({"segment": "vip"}, "critical")])
def test_severity(kw, severity):
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR, **kw)])
    r.check_sla("C-1", DAY)
    assert r.fired("sla_breach") == [("sla_breach", severity, "firing")]


def test_priority_update_to_urgent_raises_severity():
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR), f.ticket(60, action="updated", priority="urgent")])
    r.check_sla("C-1", DAY)
    assert r.fired("sla_breach") == [("sla_breach", "critical", "firing")]


def test_resolution_after_a_clock_breach_resolves_the_same_alert():
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR)])
    r.check_sla("C-1", 2 * HOUR)
    r.feed([f.ticket(3 * HOUR, action="closed")])
    assert r.fired() == [FIRING, RESOLVED]
    assert r.alerts[0].alert_id == r.alerts[1].alert_id == sla_id("T-1", HOUR)
    assert r.alerts[1].triggered_at == at(HOUR)


def test_late_resolution_is_a_breach_too():
    """No clock in between: the resolution after due finds and ends the breach itself."""
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR), f.ticket(2 * HOUR, action="resolved")])
    assert r.fired() == [FIRING, RESOLVED]
    assert r.alerts[0].alert_id == sla_id("T-1", HOUR)
    assert "sla_breach" in r.last.signals and "resolved_before_due" not in r.last.signals


def test_the_customers_next_event_finds_the_breach_with_the_same_id_and_score():
    f = EventFactory()
    by_event = run([f.ticket(0, due=HOUR, event_id="o"), f.feedback(2 * HOUR, "csat", 5, event_id="x")])
    by_clock = run([f.ticket(0, due=HOUR, event_id="o")])
    by_clock.check_sla("C-1", 2 * HOUR)
    by_clock.feed([f.feedback(2 * HOUR, "csat", 5, event_id="x")])
    assert [a.model_dump() for a in by_event.alerts] == [a.model_dump() for a in by_clock.alerts]
    assert by_event.last.score == pytest.approx(by_clock.last.score)


def test_unknown_ticket_resolution_counts_against_its_own_due_time():
    f = EventFactory()
    late = run([f.ticket(2 * HOUR, "T-5", "resolved", due=HOUR)])
    assert late.fired() == [FIRING, RESOLVED]
    assert late.alerts[0].alert_id == sla_id("T-5", HOUR)
    on_time = run([f.ticket(HOUR, "T-6", "resolved", due=2 * HOUR)])
    assert on_time.fired() == [] and on_time.last.signals == ("resolved_before_due",)
    no_due = run([f.ticket(HOUR, "T-7", "closed")])
    assert no_due.fired() == [] and no_due.last.signals == ()


def test_on_time_resolution_arriving_after_the_clock_withdraws_the_breach():
    """The edge of the stream clock: the breach was recorded, then a late event shows it never happened."""
    f = EventFactory()
    reference = run([f.ticket(0, due=HOUR, event_id="o"), f.ticket(HOUR - 60, action="resolved", event_id="r")])
    r = run([f.ticket(0, due=HOUR, event_id="o")])
    r.check_sla("C-1", 2 * HOUR)
    r.feed([f.ticket(HOUR - 60, action="resolved", event_id="r")])
    assert r.fired() == [FIRING, RESOLVED]
    assert "sla_breach_withdrawn" in r.last.signals and "resolved_before_due" in r.last.signals
    assert r.last.score == pytest.approx(reference.last.score)
    assert "turned out to be on time" in r.alerts[1].summary


def test_due_extension_before_due_moves_the_deadline():
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR), f.ticket(HOUR / 2, action="updated", due=3 * HOUR)])
    assert r.last.due == ((T0_EPOCH + 3 * HOUR, "T-1"),)
    assert r.check_sla("C-1", 2 * HOUR).alerts == []
    r.check_sla("C-1", 4 * HOUR)
    assert r.alerts[0].alert_id == sla_id("T-1", 3 * HOUR)


def test_late_due_extension_withdraws_a_clock_breach():
    f = EventFactory()
    r = run([f.ticket(0, due=HOUR)])
    r.check_sla("C-1", 2 * HOUR)
    r.feed([f.ticket(HOUR / 2, action="updated", due=3 * HOUR)])
    assert r.fired() == [FIRING, RESOLVED]
    r.check_sla("C-1", 4 * HOUR)
    assert r.fired() == [FIRING, RESOLVED, FIRING]
    assert r.alerts[2].alert_id == sla_id("T-1", 3 * HOUR)


def test_escalated_and_reopened_tickets():
    f = EventFactory()
    r = run([f.ticket(0, due=DAY), f.ticket(HOUR, action="escalated"), f.ticket(2 * HOUR, action="resolved"),
             f.ticket(3 * HOUR, action="reopened", due=2 * DAY)])
    assert [res.signals for res in r.results[1:]] == [("ticket_escalated",), ("resolved_before_due",),
                                                       ("ticket_reopened",)]
    assert list(r.state.tickets) == ["T-1"] and r.state.tickets["T-1"].due_at == T0_EPOCH + 2 * DAY


def test_a_late_event_does_not_reopen_a_closed_ticket():
    f = EventFactory()
    r = run([f.ticket(HOUR, action="resolved"), f.ticket(0, action="opened", due=2 * HOUR),
             f.ticket(HOUR / 2, action="updated", due=3 * HOUR)])
    assert r.state.tickets == {}
    assert r.results[1].signals == ("inbound_contact",)


def test_open_tickets_are_capped():
    f = EventFactory()
    r = run([f.ticket(i, f"T-{i}", due=DAY) for i in range(8)], max_open_tickets=5)
    assert list(r.state.tickets) == [f"T-{i}" for i in range(3, 8)]


def test_breach_alerts_are_subject_to_the_cooldown_but_points_are_not():
    f = EventFactory()
    r = run([f.ticket(0, "T-1", due=HOUR), f.ticket(1, "T-2", due=HOUR)])
    result = r.check_sla("C-1", 2 * HOUR)
    assert result.signals == ("sla_breach", "sla_breach")
    assert r.fired("sla_breach") == [FIRING]
    r.feed([f.ticket(3 * HOUR, "T-1", "resolved"), f.ticket(3 * HOUR, "T-2", "resolved")])
    assert r.fired("sla_breach") == [FIRING, RESOLVED]  # T-2's breach raised no alert to resolve


def test_a_reopened_complaint_ticket_stays_a_complaint_and_counts_once():
    f = EventFactory()
    r = run([f.ticket(0, complaint=True, due=HOUR), f.ticket(HOUR / 2, action="resolved"),
             f.ticket(2 * HOUR, action="reopened", due=3 * HOUR, complaint=True)])
    assert r.last.signals == ("ticket_reopened",)
    r.check_sla("C-1", DAY)
    assert r.fired("sla_breach") == [("sla_breach", "critical", "firing")]
