import pytest

from cxpulse.processors.engine.settings import EngineSettings
from cxpulse.producers.limits import ContactLog, Limits

HOUR = 3_600_000


def call(**fields):
    body = {"event_type": "call", "direction": "inbound", "outcome": "resolved", "wait_seconds": 10}
    return {**body, **fields}


@pytest.mark.parametrize(
    ("body", "points"),
    [
        (call(), 2),
        (call(direction="outbound"), 0),
        (call(outcome="abandoned"), 8),
        (call(outcome="escalated", wait_seconds=301), 16),
        (call(outcome="transferred", sentiment=-0.6), 11),
        (call(is_complaint=True), 22),
        ({"event_type": "ticket", "action": "opened"}, 2),
        ({"event_type": "ticket", "action": "reopened"}, 10),
        ({"event_type": "ticket", "action": "resolved"}, 0),
        ({"event_type": "feedback", "survey": "csat", "score": 2}, 15),
        ({"event_type": "feedback", "survey": "csat", "score": 3}, 4),
        ({"event_type": "feedback", "survey": "csat", "score": 5}, 0),  # a credit counts as nothing
        ({"event_type": "feedback", "survey": "nps", "score": 6}, 20),
        ({"event_type": "feedback", "survey": "nps", "score": 8}, 0),
        ({"event_type": "feedback", "survey": "ces", "score": 3}, 8),
        ({"event_type": "feedback", "survey": "ces", "score": 4}, 0),
        ({"event_type": "feedback", "survey": "comment", "is_complaint": True}, 20),
    ],
)
def test_penalty_estimates_use_the_engine_weights_without_credits(body, points):
    assert Limits(EngineSettings()).penalty(body) == points


def test_limits_follow_changed_settings():
    limits = Limits(EngineSettings(repeat_warning_at=5, healthy_at_or_above=60, repeat_window_seconds=3600))
    assert limits.content_contacts == 4
    assert limits.penalty_budget == pytest.approx(32)
    assert limits.content_window_ms == 2 * HOUR


def test_contact_log_counts_neighbours_both_ways_and_forgets_old_ones():
    log = ContactLog()
    for at in (0, 10 * HOUR, 100 * HOUR):
        log.add("billing", at)
    assert log.neighbours("billing", 5 * HOUR, 6 * HOUR) == 2
    assert log.neighbours("billing", 5 * HOUR, 4 * HOUR) == 0
    assert log.neighbours("repair", 5 * HOUR, 100 * HOUR) == 0
    log.forget_before(50 * HOUR)
    assert log.neighbours("billing", 50 * HOUR, 1000 * HOUR) == 1
