"""calibrate recovers the weights a stream's churn was drawn with, and writes settings replay reads.

The stream is made here, independently of the backtest's collector: each customer's
complaints, low and high CSAT responses at random times, and whether it leaves within the
horizon drawn from ``logistic(b + ln 2 / PDO × Σ weight × decayed count)`` with known weights.
"""

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cxpulse.processors.backtest.commands import CalibrateRequest, run_calibrate_cmd
from cxpulse.processors.backtest.run import BacktestRequest
from cxpulse.processors.replay.settings_file import load_engine_settings

from cxpulse.settings import load_settings

pytest.importorskip("sklearn")

DAY = 86400.0
HALF_LIFE = 14 * DAY
T1 = datetime(2025, 6, 1, tzinfo=UTC)
HORIZON = timedelta(days=14)
T2 = T1 + HORIZON
END = T2 + HORIZON
PDO = 10.0
TRUE = {"complaint": 30.0, "csat_low": 12.0, "csat_high": -6.0}
INTERCEPT = -3.0


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _feedback(cid: str, n: int, at: float, kind: str) -> dict:
    body = {"event_id": f"{cid}-{n}", "event_type": "feedback", "customer_id": cid, "occurred_at": _stamp(at),
            "channel": "app", "service_type": "billing"}
    if kind == "complaint":
        return {**body, "survey": "comment", "is_complaint": True}
    return {**body, "survey": "csat", "score": 1 if kind == "csat_low" else 5}


def _leaves(rng: random.Random, events: list[tuple[float, str]], cutoff: float) -> bool:
    points = sum(TRUE[kind] * 2 ** (-(cutoff - t) / HALF_LIFE) for t, kind in events if t <= cutoff)
    return rng.random() < 1 / (1 + math.exp(-(INTERCEPT + math.log(2) / PDO * points)))


def _stream(path: Path, customers: int = 3000, seed: int = 5) -> int:
    rng = random.Random(seed)
    start, t1, t2, end = (T1 - timedelta(days=28)).timestamp(), T1.timestamp(), T2.timestamp(), END.timestamp()
    lines, left = [], 0
    for i in range(customers):
        cid = f"C-{i:05d}"
        events = sorted((rng.uniform(start, end), kind)
                        for kind, mean in (("complaint", 0.8), ("csat_low", 1.2), ("csat_high", 2.5))
                        for _ in range(_poisson(rng, mean * 2)))
        events.insert(0, (start, "csat_high"))  # everybody is seen before the first cut-off
        churn_at = None
        for cutoff in (t1, t2):
            if _leaves(rng, events, cutoff):
                churn_at = rng.uniform(cutoff + 1, cutoff + HORIZON.total_seconds())
                break
        kept = [(t, kind) for t, kind in events if churn_at is None or t < churn_at]
        lines += [json.dumps(_feedback(cid, n, t, kind)) for n, (t, kind) in enumerate(kept)]
        if churn_at is not None:
            left += 1
            lines.append(json.dumps({"event_id": f"{cid}-left", "event_type": "account", "customer_id": cid,
                                     "occurred_at": _stamp(churn_at), "action": "cancelled"}))
    path.write_text("\n".join(sorted(lines, key=lambda line: json.loads(line)["occurred_at"])) + "\n")
    return left


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def test_calibrate_recovers_the_weights_the_churn_was_drawn_with(tmp_path):
    events = tmp_path / "events.jsonl"
    assert _stream(events) > 300
    out = tmp_path / "fitted.toml"
    settings = load_settings()
    result = run_calibrate_cmd(settings, CalibrateRequest(
        backtest=BacktestRequest(source=events, horizon=HORIZON, observed_until=END), out=out,
        train_cutoffs=(T1,), validate_cutoffs=(T2,), points_per_doubling=PDO, regularisation=1e4, min_support=20,
    ))

    weights = {name: pair["after"] for name, pair in result["weights"].items()}
    for name, true in TRUE.items():
        assert weights[name] == pytest.approx(true, rel=0.25), name
    assert "repeat_contact" in result["kept"]  # never seen: keeps its weight
    fitted = load_engine_settings(out, settings.engine)  # what replay --settings reads
    assert fitted.weights.complaint == weights["complaint"] and fitted.weights.repeat_contact == 8
    before, after = (float(result["before"]["overall"]["auc"]), float(result["after"]["overall"]["auc"]))
    assert after >= before - 0.01  # on the held-out cut-off the fitted weights rank at least as well


def test_calibrate_refuses_training_outcomes_that_reach_into_the_validation_range(tmp_path):
    from cxpulse.processors.backtest.errors import BacktestError

    with pytest.raises(BacktestError, match="reach into the validation range"):
        run_calibrate_cmd(load_settings(), CalibrateRequest(
            backtest=BacktestRequest(source=tmp_path / "none.jsonl", horizon=HORIZON), out=tmp_path / "x.toml",
            train_cutoffs=(T1,), validate_cutoffs=(T1 + HORIZON / 2,)))
