"""detractor: a dissatisfied response (CSAT <= 2, NPS <= 6, CES <= 3)."""

import pytest

from cxpulse.processors.engine import alert_id

from .factories import DAY, HOUR, EventFactory, run

DETRACTOR = [("detractor", "warning", "firing")]


@pytest.mark.parametrize("survey, score, expected", [
    ("csat", 2, DETRACTOR), ("csat", 3, []), ("nps", 6, DETRACTOR), ("nps", 7, []),
    ("ces", 3, DETRACTOR), ("ces", 4, []), ("comment", None, []),
])
def test_dissatisfied_responses(survey, score, expected):
    assert run([EventFactory().feedback(0, survey, score)]).fired("detractor") == expected


def test_alert_content():
    r = run([EventFactory(customer_id="C-7").feedback(0, "nps", 2, event_id="fb1")])
    (alert,) = r.alerts
    assert alert.alert_id == alert_id("detractor", "C-7", "billing", "fb1")
    assert alert.evidence == ["fb1"]
    assert alert.summary.startswith("C-7 gave a dissatisfied NPS response (2) about billing (score 80.0, healthy)")


@pytest.mark.parametrize("gap, service, count", [(HOUR, "billing", 1), (DAY, "billing", 2), (HOUR, "repair", 2)])
def test_cooldown(gap, service, count):
    f = EventFactory()
    r = run([f.feedback(0, "csat", 1), f.feedback(gap, "csat", 1, service_type=service)])
    assert r.fired("detractor") == DETRACTOR * count


def test_vip_detractor_is_critical():
    assert run([EventFactory(segment="vip").feedback(0, "csat", 1)]).fired("detractor") == [
        ("detractor", "critical", "firing")]
