"""The collector's features are the engine's penalty taken apart: weight-free, so any weights recombine them."""

import math
import random

import pytest
from cxpulse.processors.backtest.collector import FEATURES, Collector
from cxpulse.processors.engine import EngineDriver, EngineSettings, Weights

from ..engine.factories import DAY, T0_EPOCH, random_stream


def _run(settings: EngineSettings, events: list, cutoff: float) -> Collector:
    collector = Collector(settings, [cutoff], keep_features=True)
    driver = EngineDriver(settings, on_step=collector)
    collector.driver = driver
    for event in events:
        driver.feed(event)
    driver.finish()
    collector.finish()
    return collector


def _penalty_at(state, settings: EngineSettings, at: float) -> float:
    return state.penalty * math.exp((state.ref - at) * math.log(2) / settings.half_life_seconds)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_features_under_the_default_weights_recombine_into_the_penalty_under_other_weights(seed):
    rng = random.Random(seed)
    events = random_stream(rng, 400, customers=6, span=20 * DAY)
    cutoff = T0_EPOCH + 20 * DAY + 1
    features = {row.customer_id: row.features for row in _run(EngineSettings(), events, cutoff).snapshots[cutoff]}

    other = EngineSettings(weights=Weights(**{name: rng.uniform(-10, 30) for name in FEATURES}))
    driver = EngineDriver(other)
    for event in events:
        driver.feed(event)
    driver.finish()
    for cid, state in driver.states.items():
        recombined = sum(getattr(other.weights, name) * x for name, x in zip(FEATURES, features[cid], strict=True))
        assert recombined == pytest.approx(_penalty_at(state, other, cutoff), abs=1e-6), cid


def test_a_snapshot_holds_the_score_as_the_stream_stood_when_it_passed_the_cutoff(event_factory):
    f = event_factory()
    complaint = f.call(0, outcome="unresolved", complaint=True)
    later = f.call(2 * DAY, outcome="unresolved", complaint=True)
    collector = _run(EngineSettings(), [complaint, later], T0_EPOCH + DAY)

    (row,) = collector.snapshots[T0_EPOCH + DAY]
    # inbound 2 + unresolved 4 + complaint 20 = 26 points, one day of a 14-day half-life later
    assert row.score == pytest.approx(100 - 26 * 2 ** (-1 / 14))


def test_an_incident_updated_while_it_grows_counts_as_one_alert(event_factory):
    # 60 customers call about an outage, one every 10 s: the incident fires at the 25th and is
    # re-emitted with its id as the count grows; the volume of the rule is one alert.
    events = [event_factory(customer_id=f"C-{i}", service_type="outage").call(i * 10.0) for i in range(60)]
    collector = _run(EngineSettings(), events, T0_EPOCH + DAY)

    incidents = [a for a in collector.driver.alerts if a.rule == "incident" and a.status == "firing"]
    assert len(incidents) > 1 and len({a.alert_id for a in incidents}) == 1  # updates were emitted
    assert len(collector.alert_times["incident"]) == 1
