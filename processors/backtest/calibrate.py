"""``cxpulse calibrate``: fit the score's weights (and optionally its bands) to who left.

The model is a regularised logistic regression (scikit-learn, the ``analytics`` extra) of
"left within the horizon" on the decayed signal features at the training cut-offs
(:mod:`.collector`: ``penalty = Σ weight × feature``, so a fitted coefficient is a weight
in log-odds). Coefficients become points at a fixed exchange rate, *points per doubling*
of the odds of leaving — by default the current score's own rate, fitted on the same
training data, so the new score keeps the scale the bands were set for. Signals seen too
rarely in training keep their weight. With ``--bands``, the at-risk and critical
thresholds move to where the fitted odds reach ``at_risk_lift`` and ``critical_lift``
times the base rate. The settings are then replayed on the held-out validation range and
the report shows both settings side by side (docs/backtest.md, "Calibration").
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cxpulse.processors.engine import EngineSettings

from .collector import BREACH, FEATURES, Collector
from .errors import BacktestError
from .outcomes import OutcomeIndex

__all__ = ["Fit", "apply_fit", "fit_weights", "training_rows", "write_settings"]

LN2 = math.log(2.0)
SUPPORT_ABOVE = 1e-6  # a feature value above this counts as the signal having been seen


@dataclass(frozen=True)
class Rows:
    """Features and outcomes of the active customers at some cut-offs."""

    features: list[tuple[float, ...]]
    outcomes: list[int]


def training_rows(collector: Collector, index: OutcomeIndex, cutoffs: list[float], horizon: float) -> Rows:
    """One row per customer active at each cut-off."""
    features, outcomes = [], []
    for cutoff in cutoffs:
        for row in collector.snapshots.get(cutoff, ()):
            if index.active_at(row.customer_id, cutoff):
                if row.features is None:
                    raise ValueError("training rows need a Collector made with keep_features=True")
                features.append(row.features)
                outcomes.append(int(index.churn_after(row.customer_id, cutoff, horizon) is not None))
    return Rows(features, outcomes)


@dataclass
class Fit:
    """What was fitted and what it means for the settings."""

    weights: dict[str, float]
    kept: dict[str, str]  # weight -> why it was not fitted
    points_per_doubling: float
    intercept: float  # log-odds of leaving at penalty 0
    base_rate: float
    train_customers: int
    train_left: int
    coefficients: dict[str, float] = field(default_factory=dict)  # per feature unit, log-odds
    bands: dict[str, float] | None = None


def _sklearn():
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise BacktestError("calibrate needs scikit-learn: pip install 'cxpulse[analytics]'") from None
    return LogisticRegression


def _logistic(columns: list[list[float]], outcomes: list[int], c: float) -> tuple[list[float], float]:
    """Coefficients (per feature unit) and intercept of an L2-penalised logistic fit.

    The features are not standardised: they are decayed signal counts on one scale already,
    and the penalty on raw coefficients keeps a rarely seen signal from a wild weight.
    """
    LogisticRegression = _sklearn()
    import numpy as np

    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(np.array(columns, dtype=float).T, np.array(outcomes))
    return [float(b) for b in model.coef_[0]], float(model.intercept_[0])


def fit_weights(rows: Rows, engine: EngineSettings, *, c: float = 1.0, min_support: int = 20,
                points_per_doubling: float | None = None, fit_bands: bool = False,
                at_risk_lift: float = 2.0, critical_lift: float = 4.0) -> Fit:
    """Fit the weights to ``rows`` (see the module docstring)."""
    n, left = len(rows.outcomes), sum(rows.outcomes)
    if left < 5 or n - left < 5:
        raise BacktestError(f"the training cut-offs hold {left} customers who left and {n - left} who stayed: "
                            "too few of one kind to fit (move --train-cutoff or lengthen --horizon)")
    current = [float(getattr(engine.weights, name)) for name in FEATURES]
    kept, used = {}, []
    for i, name in enumerate(FEATURES):
        seen = sum(1 for f in rows.features if abs(f[i]) > SUPPORT_ABOVE)
        if i == BREACH and not current[i]:
            kept[name] = "sla_breach weighs 0: breaches cannot be told apart in the score"
        elif seen < min_support:
            kept[name] = f"seen in {seen} training rows (fewer than {min_support})"
        else:
            used.append(i)
    if not used:
        raise BacktestError("no signal was seen often enough in training to fit a weight")
    if points_per_doubling is None:
        penalty = [sum(w * x for w, x in zip(current, f, strict=True)) for f in rows.features]
        (gamma,), _ = _logistic([penalty], rows.outcomes, 1e6)  # one coefficient: no penalty wanted
        if gamma <= 0:
            raise BacktestError("the current score does not rank those who left above those who stayed in "
                                "training: give --points-per-doubling")
        points_per_doubling = LN2 / gamma
    beta, intercept = _logistic([[f[i] for f in rows.features] for i in used], rows.outcomes, c)
    scale = points_per_doubling / LN2
    weights = {FEATURES[i]: current[i] for i in range(len(FEATURES))}
    coefficients = {}
    for i, b in zip(used, beta, strict=True):
        weights[FEATURES[i]] = round(b * scale, 2)
        coefficients[FEATURES[i]] = b
    # The kept weights still add points: their part of the intercept at the current weights.
    fit = Fit(weights, kept, points_per_doubling, intercept, left / n, n, left, coefficients)
    if fit_bands:
        fit.bands = _bands(fit, engine, at_risk_lift, critical_lift)
    return fit


def _bands(fit: Fit, engine: EngineSettings, at_risk_lift: float, critical_lift: float) -> dict[str, float]:
    """Thresholds where the fitted odds of leaving reach the lifts over the base rate."""
    def score_at(lift: float) -> float:
        p = min(0.99, lift * fit.base_rate)
        points = (math.log(p / (1 - p)) - fit.intercept) * fit.points_per_doubling / LN2
        return round(min(99.0, max(1.0, 100.0 - points)), 1)

    healthy, critical = score_at(at_risk_lift), score_at(critical_lift)
    critical = min(critical, healthy - 1.0)
    return {"healthy_at_or_above": healthy, "critical_below": max(0.0, critical)}


def apply_fit(engine: EngineSettings, fit: Fit) -> EngineSettings:
    """``engine`` with the fitted weights (and bands)."""
    data = engine.model_dump()
    data["weights"] = {**data["weights"], **fit.weights}
    data.update(fit.bands or {})
    return EngineSettings.model_validate(data)


def write_settings(path: Path, engine: EngineSettings, fit: Fit, comparison: list[tuple[str, str, str]],
                   source: str) -> None:
    """A TOML file with ``[engine]`` (bands) and ``[engine.weights]``: ``replay --settings`` and
    ``--config`` both read it; comments record where it came from and what it changed."""
    lines = [f"# Written by cxpulse calibrate on {datetime.now().astimezone().isoformat(timespec='seconds')}",
             f"# from {source}",
             f"# training: {fit.train_customers} customer rows, {fit.train_left} left; "
             f"{fit.points_per_doubling:.2f} points double the odds of leaving",
             "# validation (held out), current settings -> these:"]
    lines += [f"#   {name}: {before} -> {after}" for name, before, after in comparison]
    lines += [f"# kept ({why}): {name}" for name, why in fit.kept.items()]
    lines += ["", "[engine]"]
    lines += [f"healthy_at_or_above = {engine.healthy_at_or_above:g}", f"critical_below = {engine.critical_below:g}"]
    lines += ["", "[engine.weights]"]
    lines += [f"{name} = {getattr(engine.weights, name):g}" for name in FEATURES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
