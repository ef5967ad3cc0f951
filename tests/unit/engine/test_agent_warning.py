"""The agent warning of a contact start and the brief of a customer, built by the engine."""

import json

import pytest
from cxpulse.processors.engine.briefing import warning_id
from cxpulse.schemas import AgentBrief, AgentWarning
from cxpulse.schemas.export import SCHEMA_DIR
from jsonschema import Draft202012Validator

from .factories import DAY, HOUR, MIN, EventFactory, at, run


def _steps(events, **overrides):
    r = run([], **overrides)
    warnings = []
    for event in events:
        result = r.engine.step(r.states.get(event.customer_id), event)
        r.states[event.customer_id] = result.state
        r.results.append(result)
        r.alerts.extend(result.alerts)
        warnings.append(r.engine.warning(result.state, event, result))
    return r, warnings


def _schema(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_a_sensitive_vip_with_repeats_and_an_overdue_ticket_gets_everything_an_agent_needs():
    f = EventFactory(segment="vip")
    events = [f.feedback(0, "csat", 1, event_id="g1"), f.feedback(HOUR, "nps", 2, event_id="g2"),
              f.ticket(2 * HOUR, "T-9", due=3 * HOUR, priority="urgent", event_id="t1"),
              f.call(DAY, event_id="c1"), f.call(DAY + HOUR, event_id="c2"),
              f.start(DAY + 2 * HOUR, "K-1", agent_id="A-7", queue="billing-vip", event_id="s1")]
    r, warnings = _steps(events)
    warning = warnings[-1]

    assert warnings[:-1] == [None] * 5  # only a contact start has a warning
    assert isinstance(warning, AgentWarning)
    assert warning.warning_id == warning_id("C-1", "s1")
    assert (warning.contact_id, warning.event_id, warning.agent_id, warning.queue) == ("K-1", "s1", "A-7", "billing-vip")
    assert (warning.segment, warning.priority_lane, warning.channel) == ("vip", True, "phone")
    assert warning.started_at == at(DAY + 2 * HOUR)
    assert warning.sensitive is not None
    assert [g.event_id for g in warning.sensitive.grievances] == ["g1", "g2"]
    assert warning.sensitive.since == at(HOUR)
    assert (warning.repeat.count, warning.repeat.evidence) == (4, ["t1", "c1", "c2", "s1"])  # a ticket opened is a contact
    (ticket,) = warning.tickets
    assert (ticket.ticket_id, ticket.overdue, ticket.urgent, ticket.due_at) == ("T-9", True, True, at(3 * HOUR))
    fired = {a.rule: a for a in r.results[-1].alerts}
    assert set(fired) == {"sensitive_contact"}  # repeat_contact fired at c2 (critical for a vip): cooled down
    assert sorted(warning.alerts) == sorted(a.alert_id for a in fired.values())
    assert warning.severity == "critical"  # vip raises the warnings one level
    assert {a.rule for a in warning.recent_alerts} >= {"sensitive_contact", "repeat_contact", "sla_breach"}
    assert warning.summary.startswith("C-1 (vip, priority lane) is contacting billing by phone: sensitive until ")
    assert "4th contact on billing within 72 h" in warning.summary and "1 overdue ticket (T-9)" in warning.summary
    assert warning.first_record is True
    assert warning.score == r.last.score and warning.risk_band == r.last.band_after
    assert list(_schema("agent-warning").iter_errors(warning.model_dump(mode="json"))) == []


def test_a_calm_customer_gets_a_warning_that_says_no_concerns():
    f = EventFactory()
    _, warnings = _steps([f.call(0, outcome="resolved"), f.start(4 * DAY, "K-1")])
    warning = warnings[-1]

    assert (warning.severity, warning.sensitive, warning.alerts, warning.tickets) == ("info", None, [], [])
    assert warning.repeat.count == 1 and warning.priority_lane is False
    assert warning.summary == f"C-1 is contacting billing by phone: no concerns (score {warning.score:.1f}, healthy)"


def test_a_held_back_alert_still_leaves_the_warning_at_its_concern_level():
    # The second contact of a sensitive customer within the cooldown raises no alert,
    # but the agent must still see the customer as sensitive.
    f = EventFactory()
    _, warnings = _steps([f.feedback(0, "csat", 1), f.feedback(HOUR, "csat", 1), f.start(2 * HOUR, "K-1"),
                          f.start(3 * HOUR, "K-2")])

    assert warnings[2].alerts and warnings[3].alerts == []
    assert warnings[3].severity == "warning" and warnings[3].sensitive is not None


def test_a_repeated_start_of_one_contact_warns_again_without_alerts():
    f = EventFactory()
    _, warnings = _steps([f.call(0), f.call(HOUR), f.start(2 * HOUR, "K-1"), f.start(2 * HOUR + MIN, "K-1")])

    first, again = warnings[2], warnings[3]
    assert first.first_record and first.alerts and first.repeat.count == 3
    assert not again.first_record and again.alerts == [] and again.repeat.count == 3
    assert again.severity == "warning" and first.warning_id != again.warning_id


def test_a_duplicate_start_has_no_warning():
    f = EventFactory()
    start = f.start(0, "K-1")
    _, warnings = _steps([start, start])

    assert warnings[0] is not None and warnings[1] is None


def test_recent_alerts_leave_out_the_old_ones():
    f = EventFactory()
    r, warnings = _steps([f.feedback(0, "csat", 1), f.start(40 * DAY, "K-1")])

    assert r.alerts and warnings[-1].recent_alerts == []


def test_the_brief_gathers_every_service_type():
    f = EventFactory()
    r, _ = _steps([f.call(0), f.call(HOUR, service_type="repair"), f.call(2 * HOUR), f.call(3 * HOUR),
                   f.ticket(4 * HOUR, "T-1", due=5 * HOUR), f.feedback(6 * HOUR, "csat", 5)])
    brief = r.engine.brief(r.state)

    assert isinstance(brief, AgentBrief)
    assert [(x.service_type, x.count) for x in brief.repeat] == [("billing", 4), ("repair", 1)]
    assert brief.as_of == at(6 * HOUR) and brief.severity == "warning"
    assert [t.ticket_id for t in brief.tickets if t.overdue] == ["T-1"]
    assert brief.summary.startswith("C-1: 4th contact on billing within 72 h; 1 overdue ticket (T-1)")
    assert list(_schema("agent-brief").iter_errors(brief.model_dump(mode="json"))) == []


def test_a_brief_at_a_later_time_sees_the_window_move_on():
    f = EventFactory()
    r, _ = _steps([f.call(0), f.call(HOUR), f.call(2 * HOUR)])
    later = r.engine.brief(r.state, at=r.state.ref + 4 * DAY)

    assert later.repeat == [] and later.severity == "info"


@pytest.mark.parametrize("segment, lane", [("standard", False), ("key", True), ("vip", True), ("vulnerable", True)])
def test_priority_lane_follows_the_segments_that_raise_severity(segment, lane):
    f = EventFactory(segment=segment)
    _, warnings = _steps([f.start(0, "K-1")])

    assert warnings[0].priority_lane is lane
