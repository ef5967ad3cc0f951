"""The default score against the simulator's hidden churn model: better than chance, never perfect.

Not by construction: the churn model knows nothing of the engine (a test in
tests/unit/producers checks its imports), and some customers leave for reasons no event shows.
"""

from datetime import UTC, datetime, timedelta

import orjson
from cxpulse.processors.backtest.run import BacktestRequest, run_backtest
from cxpulse.producers.settings import ChurnSettings
from cxpulse.producers.simulator import Simulation, SimulationConfig

from cxpulse.settings import load_settings

ANCHOR = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)


def test_the_default_score_ranks_who_leaves_better_than_chance_and_alerts_find_leavers(tmp_path):
    sim = Simulation(SimulationConfig(anchor=ANCHOR, seed=7, customers=1500, days=3, churn=ChurnSettings(),
                                      churn_scale=10.0))
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in sim.events()))
    horizon = timedelta(hours=36)
    settings = load_settings()

    report = run_backtest(settings, BacktestRequest(source=events, cutoffs=(ANCHOR - horizon,), horizon=horizon,
                                                    observed_until=ANCHOR), settings.engine)

    overall = report["overall"]
    assert overall["churned"] >= 15
    assert 0.6 < overall["auc"] < 0.97
    assert overall["bands"]["at_risk"]["rate"] > 3 * overall["bands"]["healthy"]["rate"]
    assert report["rules"]["churn_risk"]["precision"] > 3 * overall["rate"]
    assert report["join"]["unknown_customers"] > 0  # some left without a single contact event
