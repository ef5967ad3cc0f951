"""Cooldowns per customer are capped at 5 x max_service_types + 1; the oldest go first, each counted.

Window lists keep only the ``max_service_types`` most recently used service types, but the
cooldowns of every service type an alert fired for stayed until the sweep (two cooldowns
later): a customer writing about many service types in a day grew without bound.
"""

import re
from pathlib import Path

from cxpulse.processors.engine import Engine, EngineSettings
from cxpulse.processors.engine.limits import cooldowns_kept
from cxpulse.processors.engine.state import COOLDOWN_RULES

from .factories import HOUR, MIN, EventFactory

SETTINGS = EngineSettings(max_service_types=2)  # 11 cooldowns kept


def _dissatisfied_on(services: int, f: EventFactory) -> list:
    """A dissatisfied survey (a detractor alert, one cooldown each) on each of ``services`` service types."""
    return [f.feedback(i * MIN, "nps", 1, service_type=f"svc-{i:02d}") for i in range(services)]


def test_cooldowns_beyond_the_cap_drop_the_oldest_and_count_each_drop():
    engine = Engine(SETTINGS)
    cap = cooldowns_kept(SETTINGS)
    assert cap == 11
    state, dropped = None, []
    for event in _dissatisfied_on(30, EventFactory()):
        result = engine.step(state, event)
        state = result.state
        assert len(state.cooldowns) <= cap
        dropped.append(result.signals.count("cooldown_dropped"))
        assert any(a.rule == "detractor" for a in result.alerts)  # each one fired: a new cooldown
    # The churn_risk cooldown ("*") fired when the band first fell (an early detractor): it is
    # among the oldest and goes; each new service type drops the oldest one.
    kept = sorted(svc for (rule, svc) in state.cooldowns)
    assert kept == [f"svc-{i:02d}" for i in range(30 - cap, 30)]
    assert sum(dropped) == 30 + 1 - cap  # 30 detractors and one churn_risk, 11 kept
    assert dropped[:cap - 1] == [0] * (cap - 1)


def test_a_sla_breach_found_by_the_clock_is_capped_too():
    engine = Engine(SETTINGS)
    f = EventFactory()
    state = None
    for i in range(20):  # one open ticket per service type, each due after an hour
        state = engine.step(state, f.ticket(i, f"T-{i}", "opened", due=HOUR, service_type=f"svc-{i:02d}")).state
    result = engine.check_sla(state, f.ticket(0).occurred_at.timestamp() + 2 * HOUR)
    assert result.signals.count("sla_breach") == 20
    assert len(result.state.cooldowns) == cooldowns_kept(SETTINGS)
    assert result.signals.count("cooldown_dropped") == 20 + 1 - cooldowns_kept(SETTINGS)  # + churn_risk's


def test_the_capped_state_round_trips():
    engine = Engine(SETTINGS)
    state = None
    for event in _dissatisfied_on(15, EventFactory()):
        state = engine.step(state, event).state
    assert type(state).from_bytes(state.to_bytes()) == state


def test_cooldown_rules_name_every_rule_with_a_cooldown_per_service_type():
    """The cap's 5 is the number of rules that keep a cooldown per service type (churn_risk keeps one, "*")."""
    engine_dir = Path(__file__).parents[3] / "processors" / "engine"
    called = set()
    for source in engine_dir.glob("*.py"):
        called |= set(re.findall(r'passes_cooldown\(state, "(\w+)", (\w+|"\*")', source.read_text(encoding="utf-8")))
    assert {rule for rule, svc in called if svc != '"*"'} == set(COOLDOWN_RULES)
    assert {rule for rule, svc in called if svc == '"*"'} == {"churn_risk"}


def test_a_state_written_before_the_cap_is_capped_at_its_next_step():
    engine = Engine(SETTINGS)
    f = EventFactory()
    old = engine.step(None, f.call(0)).state
    old.cooldowns = {("detractor", f"svc-{i:02d}"): (float(i), 1) for i in range(40)}  # as an older engine kept them
    restored = type(old).from_bytes(old.to_bytes())
    result = engine.step(restored, f.call(MIN))  # no alert: a plain inbound call
    assert not result.alerts
    assert sorted(result.state.cooldowns) == [("detractor", f"svc-{i:02d}") for i in range(29, 40)]
    assert result.signals.count("cooldown_dropped") == 29
