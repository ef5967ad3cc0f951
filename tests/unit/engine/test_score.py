"""The decayed penalty: half-life, bounds, late signals, the weights table."""

import math

import pytest

from cxpulse.processors.engine import CustomerState, Engine, EngineSettings
from cxpulse.processors.engine.compiled import Compiled
from cxpulse.processors.engine.score import add_points, score_of
from cxpulse.schemas import is_dissatisfied

from .factories import DAY, HOUR, EventFactory, run

HALF_LIFE = EngineSettings().half_life_seconds
K = math.log(2) / HALF_LIFE


def test_new_customer_scores_100():
    state = Engine().new_state("C-1")
    assert score_of(state) == 100.0
    assert Engine().snapshot(state).risk_band == "healthy"


def test_one_half_life_halves_the_penalty():
    state = CustomerState("C-1")
    add_points(state, 20.0, 1000.0, K)
    add_points(state, 0.0, 1000.0 + HALF_LIFE, K)
    assert state.penalty == pytest.approx(10.0)
    assert score_of(state) == pytest.approx(90.0)


def test_two_half_lives_quarter_the_penalty_through_the_engine():
    f = EventFactory()
    r = run([f.call(0, complaint=True), f.call(2 * HALF_LIFE, direction="outbound")])
    # inbound contact 2 + complaint 20 at t=0, quartered; the outbound call adds nothing.
    assert r.last.score == pytest.approx(100 - 22 / 4)


@pytest.mark.parametrize("points, expected", [(150.0, 0.0), (-30.0, 100.0), (0.0, 100.0), (35.5, 64.5)])
def test_score_is_clamped_to_0_100(points, expected):
    state = CustomerState("C-1")
    add_points(state, points, 0.0, K)
    assert score_of(state) == expected


def test_credits_bank_below_zero_penalty():
    """No floor on P: a credit earned while the score is 100 is still there later."""
    state = CustomerState("C-1")
    add_points(state, -5.0, 0.0, K)
    add_points(state, 5.0, 0.0, K)
    assert state.penalty == pytest.approx(0.0)
    assert score_of(state) == 100.0


def test_late_signal_counts_decayed_to_the_reference_time():
    in_order, late = CustomerState("a"), CustomerState("b")
    add_points(in_order, 10.0, 0.0, K)
    add_points(in_order, 6.0, DAY, K)
    add_points(late, 6.0, DAY, K)
    add_points(late, 10.0, 0.0, K)  # arrives after the later one
    assert late.ref == in_order.ref == DAY
    assert late.penalty == pytest.approx(in_order.penalty)


def test_a_contribution_can_be_withdrawn_exactly():
    state = CustomerState("C-1")
    add_points(state, 7.0, 0.0, K)
    add_points(state, 15.0, HOUR, K)
    add_points(state, -15.0, HOUR, K)
    add_points(state, 0.0, HOUR, K)
    assert state.penalty == pytest.approx(7.0 * 2 ** (-HOUR / HALF_LIFE))


@pytest.mark.parametrize("score, band", [(100, "healthy"), (70, "healthy"), (69.99, "at_risk"),
                                         (40, "at_risk"), (39.99, "critical"), (0, "critical")])
def test_band_edges(score, band):
    assert Engine().band(score) == band


@pytest.mark.parametrize("build, signals, points", [
    (lambda f: f.call(direction="inbound", outcome="callback"), ("inbound_contact",), 2),
    (lambda f: f.call(outcome="abandoned"), ("inbound_contact", "call_abandoned"), 8),
    (lambda f: f.call(direction="outbound", outcome="abandoned"), (), 0),
    (lambda f: f.call(wait=301), ("inbound_contact", "long_wait"), 6),
    (lambda f: f.call(wait=300), ("inbound_contact",), 2),
    (lambda f: f.call(outcome="transferred"), ("inbound_contact", "call_transferred"), 5),
    (lambda f: f.call(outcome="unresolved"), ("inbound_contact", "call_unresolved"), 6),
    (lambda f: f.call(outcome="escalated"), ("inbound_contact", "call_escalated"), 12),
    (lambda f: f.call(direction="outbound", outcome="escalated"), ("call_escalated",), 10),
    (lambda f: f.call(outcome="resolved"), ("inbound_contact", "first_contact_resolution"), -2),
    (lambda f: f.call(complaint=True), ("inbound_contact", "complaint"), 22),
    (lambda f: f.call(sentiment=-0.51), ("inbound_contact", "negative_sentiment"), 8),
    (lambda f: f.call(sentiment=-0.5), ("inbound_contact",), 2),
    (lambda f: f.ticket(action="opened"), ("inbound_contact",), 2),
    (lambda f: f.ticket(action="escalated"), ("ticket_escalated",), 10),
    (lambda f: f.ticket(action="reopened"), ("ticket_reopened",), 10),
    (lambda f: f.ticket(action="updated", complaint=True), ("complaint",), 20),
    (lambda f: f.feedback(survey="csat", score=1), ("csat_low",), 15),
    (lambda f: f.feedback(survey="csat", score=3), ("csat_mid",), 4),
    (lambda f: f.feedback(survey="csat", score=4), ("csat_high",), -5),
    (lambda f: f.feedback(survey="nps", score=6), ("nps_detractor",), 20),
    (lambda f: f.feedback(survey="nps", score=8), ("nps_passive",), 0),
    (lambda f: f.feedback(survey="nps", score=9), ("nps_promoter",), -8),
    (lambda f: f.feedback(survey="ces", score=3), ("ces_low",), 8),
    (lambda f: f.feedback(survey="ces", score=4), ("ces_neutral",), 0),
    (lambda f: f.feedback(survey="ces", score=5), ("ces_high",), -2),
    (lambda f: f.feedback(survey="comment", score=None), (), 0),
    (lambda f: f.feedback(survey="comment", score=None, complaint=True), ("complaint",), 20),
])
def test_signals_and_default_weights(build, signals, points):
    result = run([build(EventFactory())]).last
    assert result.signals == signals
    assert result.state.penalty == pytest.approx(points)


def test_survey_table_agrees_with_the_schema_definition_of_dissatisfied():
    f = EventFactory()
    table = Compiled(EngineSettings()).survey_weights
    for (survey, score), (_, _, dissatisfied) in table.items():
        assert dissatisfied == is_dissatisfied(f.feedback(survey=survey, score=score))


def test_weights_come_from_settings():
    settings = EngineSettings(weights={"complaint": 50, "inbound_contact": 0})
    r = run([EventFactory().call(complaint=True)], settings)
    assert r.last.score == pytest.approx(50.0)


@pytest.mark.parametrize("bad, message", [
    ({"repeat_warning_at": 4, "repeat_critical_at": 3}, "repeat_critical_at"),
    ({"healthy_at_or_above": 30}, "critical_below"),
    ({"max_window_events": 5, "sensitive_at": 6}, "max_window_events"),
    ({"half_life_seconds": 0}, "half_life_seconds"),
])
def test_inconsistent_settings_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        EngineSettings(**bad)
