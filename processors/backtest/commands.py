"""The shells of ``cxpulse backtest`` and ``cxpulse calibrate``: options in, figures and files out."""

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.replay.settings_file import load_engine_settings

from cxpulse.console import console, err_console
from cxpulse.settings import Settings

from .calibrate import apply_fit, fit_weights, training_rows, write_settings
from .errors import BacktestError
from .report import num, pct, print_report
from .run import (
    BacktestRequest,
    collect,
    default_cutoff,
    outcome_index,
    report,
    stream_span,
)

__all__ = ["BacktestOutput", "CalibrateRequest", "run_backtest_cmd", "run_calibrate_cmd"]

DAY = 86400.0


@dataclass(frozen=True)
class BacktestOutput:
    """Where the backtest's results go besides the terminal."""

    as_json: bool = False
    html: Path | None = None
    plots: Path | None = None


def _engine(settings: Settings, path: Path | None) -> EngineSettings:
    return settings.engine if path is None else load_engine_settings(path, settings.engine)


def _check_writable(path: Path | None, option: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise BacktestError(f"{option}: directory {path.parent} does not exist")


def run_backtest_cmd(settings: Settings, request: BacktestRequest, settings_file: Path | None,
                     output: BacktestOutput) -> dict[str, Any]:
    """Replay, join, report; write ``--html``/``--plots``; print JSON with ``--json``."""
    _check_writable(output.html, "--html")
    if output.html or output.plots:
        from .html import _pyplot

        _pyplot()  # say it now, not after the replay, when matplotlib is missing
    engine = _engine(settings, settings_file)
    cutoffs = [c.timestamp() for c in request.cutoffs] or [default_cutoff(settings, request)]
    collected = collect(settings, request, engine, cutoffs)
    figures = report(collected, request, engine, settings.engine)
    if output.as_json:
        console.print_json(json.dumps(figures))
    else:
        print_report(console, figures)
    if output.html is not None:
        from .html import write_html

        write_html(figures, output.html)
        err_console.print(f"wrote {output.html}", highlight=False)
    if output.plots is not None:
        from .html import write_plots

        for path in write_plots(figures, output.plots):
            err_console.print(f"wrote {path}", highlight=False)
    return figures


@dataclass(frozen=True)
class CalibrateRequest:
    """The options of ``cxpulse calibrate``."""

    backtest: BacktestRequest
    out: Path
    train_cutoffs: tuple[datetime, ...] = ()
    validate_cutoffs: tuple[datetime, ...] = ()
    settings_file: Path | None = None
    bands: bool = False
    points_per_doubling: float | None = None
    regularisation: float = 1.0
    min_support: int = 20
    at_risk_lift: float = 2.0
    critical_lift: float = 4.0
    as_json: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _cutoffs(settings: Settings, request: CalibrateRequest) -> tuple[list[float], list[float]]:
    horizon = request.backtest.horizon.total_seconds()
    validate = [c.timestamp() for c in request.validate_cutoffs]
    train = [c.timestamp() for c in request.train_cutoffs]
    if not validate:
        low, high = stream_span(settings, request.backtest)
        end = request.backtest.observed_until.timestamp() if request.backtest.observed_until else high
        validate = [end - horizon]
        if not train:
            train = [end - 2 * horizon]
            if train[0] <= low:
                raise BacktestError(f"the data spans {(high - low) / DAY:.1f} d: two horizons of "
                                    f"{horizon / DAY:g} d (training, then validation) do not fit after its start; "
                                    "give --train-cutoff and --validate-cutoff")
    elif not train:
        train = [min(validate) - horizon]
    if max(train) + horizon > min(validate):
        raise BacktestError("the training outcomes (cut-off plus horizon) reach into the validation range: "
                            "each --train-cutoff must be at least one horizon before every --validate-cutoff")
    return sorted(train), sorted(validate)


_COMPARED = (
    ("ROC AUC", lambda r: num(r["overall"]["auc"], 3)),
    ("top-decile lift", lambda r: num(r["overall"]["deciles"][0]["lift"] if r["overall"]["deciles"] else None)),
    ("at risk or worse: precision", lambda r: pct(r["overall"]["at_risk_or_worse"]["precision"])),
    ("at risk or worse: recall", lambda r: pct(r["overall"]["at_risk_or_worse"]["recall"])),
    ("at risk or worse: customers", lambda r: f"{r['overall']['at_risk_or_worse']['flagged']:,}"),
    ("churn rate healthy / at risk / critical", lambda r: " / ".join(
        pct(c["rate"]) for c in r["overall"]["bands"].values())),
    ("churn_risk precision", lambda r: pct(r["rules"].get("churn_risk", {}).get("precision"))),
    ("churn_risk alerts per 1,000 a day", lambda r: num(r["rules"].get("churn_risk", {}).get(
        "per_1000_customers_per_day"))),
    ("leavers alerted before", lambda r: pct(r["lead_time"]["share_alerted"])),
)


def run_calibrate_cmd(settings: Settings, request: CalibrateRequest) -> dict[str, Any]:
    """Fit on the training cut-offs, validate on the later ones, write the settings file."""
    _check_writable(request.out, "--out")
    from .calibrate import _sklearn

    _sklearn()  # before the replay
    base = _engine(settings, request.settings_file)
    train, validate = _cutoffs(settings, request)
    horizon = request.backtest.horizon.total_seconds()
    collected = collect(settings, request.backtest, base, train + validate, keep_features=True)
    index = outcome_index(collected, request.backtest)
    rows = training_rows(collected.collector, index, train, horizon)
    fit = fit_weights(rows, base, c=request.regularisation, min_support=request.min_support,
                      points_per_doubling=request.points_per_doubling, fit_bands=request.bands,
                      at_risk_lift=request.at_risk_lift, critical_lift=request.critical_lift)
    fitted = apply_fit(base, fit)
    since = min(validate)
    before = report(collected, request.backtest, base, settings.engine, validate, since)
    after_collection = collect(settings, replace(request.backtest), fitted, validate)
    after = report(after_collection, request.backtest, fitted, settings.engine, validate, since)
    comparison = [(name, get(before), get(after)) for name, get in _COMPARED]
    write_settings(request.out, fitted, fit, comparison, collected.source)
    result = {
        "source": collected.source, "settings_file": str(request.out),
        "train_cutoffs": [_iso(c) for c in train],
        "validate_cutoffs": before["period"]["cutoffs"],
        "horizon_days": horizon / DAY, "train_customers": fit.train_customers, "train_left": fit.train_left,
        "points_per_doubling": fit.points_per_doubling, "intercept": fit.intercept,
        "weights": {name: {"before": float(getattr(base.weights, name)), "after": fit.weights[name]}
                    for name in fit.weights},
        "kept": fit.kept, "bands": fit.bands,
        "comparison": [{"figure": n, "before": b, "after": a} for n, b, a in comparison],
        "before": before, "after": after,
    }
    if request.as_json:
        console.print_json(json.dumps(result))
    else:
        _print(result)
    return result


def _iso(epoch: float) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _print(result: dict[str, Any]) -> None:
    from rich.table import Table

    console.rule("[bold]cxpulse calibrate")
    console.print(f"source: {result['source']}")
    console.print(f"trained at {', '.join(result['train_cutoffs'])} ({result['train_customers']:,} customers, "
                  f"{result['train_left']:,} left within {result['horizon_days']:g} d); validated at "
                  f"{', '.join(result['validate_cutoffs'])}; {result['points_per_doubling']:.2f} points double the "
                  "odds of leaving")
    weights = Table(title="Weights (points)", title_justify="left")
    for column in ("signal", "current", "fitted", ""):
        weights.add_column(column, justify="right" if column in ("current", "fitted") else "left")
    for name, pair in result["weights"].items():
        note = result["kept"].get(name, "")
        weights.add_row(name, f"{pair['before']:g}", f"{pair['after']:g}", f"kept: {note}" if note else "")
    console.print(weights)
    if result["bands"]:
        console.print("bands: " + ", ".join(f"{k} = {v:g}" for k, v in result["bands"].items()))
    table = Table(title="Held-out validation: current settings and the fitted ones", title_justify="left")
    for column in ("", "current", "fitted"):
        table.add_column(column, justify="left" if not column else "right")
    for row in result["comparison"]:
        table.add_row(row["figure"], row["before"], row["after"])
    console.print(table)
    console.print(f"wrote {result['settings_file']} (use it with 'cxpulse replay --settings' or 'cxpulse --config')")
