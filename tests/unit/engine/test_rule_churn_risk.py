"""churn_risk: the band worsens (healthy→at_risk warning, →critical critical); re-armed on recovery."""

import pytest

from cxpulse.processors.engine import Engine, EngineSettings, alert_id

from .factories import DAY, HOUR, EventFactory, run

HALF_LIFE = 14 * DAY


def detractors(f: EventFactory, n: int, start: float = 0.0) -> list:
    """n NPS-0 responses an hour apart: 20 points each."""
    return [f.feedback(start + i * HOUR, "nps", 0) for i in range(n)]


@pytest.mark.parametrize("n, expected", [
    (1, []),  # 80: healthy
    (2, [("churn_risk", "warning", "firing")]),  # ~60: at_risk
    (3, [("churn_risk", "warning", "firing")]),  # ~40: still at_risk
    (4, [("churn_risk", "warning", "firing"), ("churn_risk", "critical", "firing")]),  # ~20: critical
])
def test_band_transitions(n, expected):
    assert run(detractors(EventFactory(), n)).fired("churn_risk") == expected


def test_jumping_straight_to_critical_raises_one_critical_alert():
    f = EventFactory()
    r = run([f.feedback(0, "nps", 8), f.feedback(1, "nps", 0)], EngineSettings(weights={"nps_detractor": 70}))
    assert r.fired("churn_risk") == [("churn_risk", "critical", "firing")]
    assert r.last.band_before == "healthy" and r.last.band_after == "critical"


def test_first_event_of_a_new_customer_can_raise_it():
    r = run([EventFactory().feedback(0, "csat", 1, complaint=True)])  # 35 points
    assert r.last.band_before is None
    assert r.fired("churn_risk") == [("churn_risk", "warning", "firing")]


def test_recovery_resolves_every_open_churn_alert_with_the_same_ids():
    f = EventFactory()
    r = run(detractors(f, 4))
    firing = [a for a in r.alerts if a.rule == "churn_risk"]
    r.feed([f.call(4 * HALF_LIFE, direction="outbound")])  # 80 points, decayed to 5
    resolved = [a for a in r.last.alerts if a.rule == "churn_risk"]
    assert [(a.alert_id, a.severity, a.status) for a in resolved] == [
        (a.alert_id, a.severity, "resolved") for a in firing]
    assert r.state.churn_level == 0 and r.state.churn_open == ()


def test_improving_without_recovering_does_not_resolve_or_refire():
    f = EventFactory()
    r = run(detractors(f, 4))  # critical
    r.feed([f.feedback(5 * HOUR, "nps", 10), f.feedback(6 * HOUR, "nps", 10), f.feedback(7 * HOUR, "nps", 10)])
    assert r.last.band_after == "at_risk"
    r.feed(detractors(f, 2, start=8 * HOUR))  # critical again
    assert r.fired("churn_risk") == [("churn_risk", "warning", "firing"), ("churn_risk", "critical", "firing")]


@pytest.mark.parametrize("relapse_after, refires", [(DAY, True), (HOUR, False)])
def test_rearmed_after_recovery_subject_to_cooldown(relapse_after, refires):
    f = EventFactory()
    r = run(detractors(f, 2))  # at_risk at 1 h
    r.feed([f.feedback(HOUR + 1, "nps", 10), f.feedback(HOUR + 2, "nps", 10)])  # credits: healthy again
    assert r.last.band_after == "healthy"
    assert r.fired("churn_risk") == [("churn_risk", "warning", "firing"), ("churn_risk", "warning", "resolved")]
    r.feed([f.feedback(HOUR + relapse_after, "csat", 1, service_type="repair")])
    assert r.last.band_after == "at_risk"
    firing = [x for x in r.fired("churn_risk") if x[2] == "firing"]
    assert len(firing) == (2 if refires else 1)


def test_vip_churn_is_critical_from_the_first_step():
    r = run(detractors(EventFactory(segment="vip"), 4))
    assert r.fired("churn_risk") == [("churn_risk", "critical", "firing")]


def test_alert_fields():
    f = EventFactory(customer_id="C-9")
    events = detractors(f, 2)
    r = run(events)
    (alert,) = [a for a in r.alerts if a.rule == "churn_risk"]
    assert alert.alert_id == alert_id("churn_risk", "C-9", "billing", events[-1].event_id)
    assert alert.evidence == [e.event_id for e in events]
    assert alert.risk_band == "at_risk"
    assert alert.summary.startswith("C-9's experience score fell from healthy to at_risk after a billing event")


@pytest.mark.parametrize("service_type, article", [("outage", "an"), ("account", "an"), ("installation", "an"),
                                                  ("billing", "a"), ("repair", "a")])
def test_the_summary_uses_the_right_article(service_type, article):
    f = EventFactory(customer_id="C-9", service_type=service_type)
    result = Engine().step(None, f.feedback(0, "nps", 0, complaint=True))
    alert = next(a for a in result.alerts if a.rule == "churn_risk")
    assert f"to at_risk after {article} {service_type} event" in alert.summary
