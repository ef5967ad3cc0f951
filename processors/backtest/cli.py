"""``cxpulse backtest`` and ``cxpulse calibrate``: does the score predict who leaves (docs/backtest.md)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cxpulse.processors.replay.timerange import (
    parse_duration,
    parse_moment,
    parse_range,
)

from cxpulse.console import settings_of

from .errors import BacktestError

__all__ = ["backtest", "calibrate", "register"]

_BACKTEST_HELP = """\
Replay events through the engine and measure how well the score and the alerts predicted who left.

Source: as for 'cxpulse replay' — cx.events (default; --since/--until in record time) or
--from PATH (an archive directory or file, or a JSONL/CSV event file). Outcomes: account
events in the stream and/or --outcomes FILE (CSV or JSONL: customer_id, churned_at,
reason, action). At each --cutoff (default: the last event less the horizon) every active
customer's score is set against whether it left within --horizon (default 30d).

Reports, overall and per segment: ROC AUC, precision and recall of the at-risk and critical
bands, churn rate by band, lift by score decile; per rule, the share of alerted customers
who left within the horizon of their first alert and the alerts per 1,000 customers a
day; the lead time from the first alert to leaving. --json prints the report as JSON;
--html FILE writes one self-contained page with the plots (needs the analytics extra);
--plots DIR writes the plots as PNG files. --settings FILE tries other weights or bands.
"""

_CALIBRATE_HELP = """\
Fit the score's weights (and with --bands its band thresholds) to who left, and write them.

A regularised logistic regression (scikit-learn: the analytics extra) of leaving within
--horizon on the decayed signals at --train-cutoff; checked on the held-out --validate-cutoff
(at least one horizon later; defaults: the last event less one and two horizons). Writes
--out FILE, a TOML file with [engine] and [engine.weights] that 'cxpulse replay --settings'
and 'cxpulse --config' read, and shows the held-out figures of the current settings and the
fitted ones side by side.
"""

From = Annotated[Path | None, typer.Option("--from", help="Archive directory or file, or a JSONL/CSV event file (default: Kafka).", show_default=False)]
Topic = Annotated[str | None, typer.Option(help="Topic to read (default: topics.events).", show_default=False)]
Since = Annotated[str | None, typer.Option("--since", help="Read records from this record time (Kafka, archives).", show_default=False)]
Until = Annotated[str | None, typer.Option("--until", help="Read records before this record time.", show_default=False)]
Horizon = Annotated[str | None, typer.Option(help="Left within this long of a cut-off, e.g. 30d (default: backtest.horizon_days).", show_default=False)]
Outcomes = Annotated[Path | None, typer.Option("--outcomes", help="Outcomes file: CSV or JSONL with customer_id, churned_at[, reason, action].", show_default=False)]
StreamOutcomes = Annotated[bool, typer.Option("--stream-outcomes/--no-stream-outcomes", help="Use the account events of the stream as outcomes.")]
ObservedUntil = Annotated[str | None, typer.Option("--observed-until", help="Outcomes are known up to this time (default: the last event).", show_default=False)]
SettingsFile = Annotated[Path | None, typer.Option("--settings", help="TOML file whose \\[engine] table changes settings.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _moments(values: list[str] | None, option: str, now: datetime) -> tuple[datetime, ...]:
    return tuple(parse_moment(value, now, option) for value in values or ())


def _request(ctx: typer.Context, source, topic, since, until, cutoffs, horizon, outcomes, stream_outcomes,
             observed_until):
    from .run import BacktestRequest

    settings = settings_of(ctx)
    now = datetime.now(UTC)
    span = parse_duration(horizon) if horizon else timedelta(days=settings.backtest.horizon_days)
    if span <= timedelta(0):
        raise BacktestError("--horizon must be longer than 0")
    request = BacktestRequest(
        source=source, topic=topic, range=parse_range(since, until, now), cutoffs=_moments(cutoffs, "--cutoff", now),
        horizon=span, outcomes=outcomes, stream_outcomes=stream_outcomes,
        observed_until=None if observed_until is None else parse_moment(observed_until, now, "--observed-until"),
    )
    if not stream_outcomes and outcomes is None:
        raise BacktestError("no outcomes: give --outcomes FILE, or keep the account events (--stream-outcomes)")
    return settings, request


def backtest(
    ctx: typer.Context,
    source: From = None,
    topic: Topic = None,
    since: Since = None,
    until: Until = None,
    cutoff: Annotated[list[str] | None, typer.Option("--cutoff", metavar="TIME", help="Score the customers at this event time (repeat for several; default: the last event less the horizon).", show_default=False)] = None,
    horizon: Horizon = None,
    outcomes: Outcomes = None,
    stream_outcomes: StreamOutcomes = True,
    observed_until: ObservedUntil = None,
    settings_file: SettingsFile = None,
    as_json: AsJson = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the report with its plots to this HTML file.", show_default=False)] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write the plots as PNG files into this directory.", show_default=False)] = None,
) -> None:
    from .commands import BacktestOutput, run_backtest_cmd

    settings, request = _request(ctx, source, topic, since, until, cutoff, horizon, outcomes, stream_outcomes,
                                 observed_until)
    run_backtest_cmd(settings, request, settings_file, BacktestOutput(as_json, html, plots))


def calibrate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The settings file to write (TOML).", show_default=False)],
    source: From = None,
    topic: Topic = None,
    since: Since = None,
    until: Until = None,
    train_cutoff: Annotated[list[str] | None, typer.Option("--train-cutoff", metavar="TIME", help="Fit at this event time (repeatable).", show_default=False)] = None,
    validate_cutoff: Annotated[list[str] | None, typer.Option("--validate-cutoff", metavar="TIME", help="Check at this later event time (repeatable).", show_default=False)] = None,
    horizon: Horizon = None,
    outcomes: Outcomes = None,
    stream_outcomes: StreamOutcomes = True,
    observed_until: ObservedUntil = None,
    settings_file: SettingsFile = None,
    bands: Annotated[bool, typer.Option("--bands", help="Also fit the healthy and critical thresholds.")] = False,
    points_per_doubling: Annotated[float | None, typer.Option(min=0.01, help="Points that double the odds of leaving (default: the current score's).", show_default=False)] = None,
    regularisation: Annotated[float | None, typer.Option(min=1e-6, help="Inverse L2 strength (default: backtest.regularisation).", show_default=False)] = None,
    min_support: Annotated[int | None, typer.Option(min=1, help="Training rows a signal needs to be fitted (default: backtest.min_support).", show_default=False)] = None,
    as_json: AsJson = False,
) -> None:
    from .commands import CalibrateRequest, run_calibrate_cmd

    settings, request = _request(ctx, source, topic, since, until, None, horizon, outcomes, stream_outcomes,
                                 observed_until)
    now = datetime.now(UTC)
    options = settings.backtest
    run_calibrate_cmd(settings, CalibrateRequest(
        backtest=request, out=out, train_cutoffs=_moments(train_cutoff, "--train-cutoff", now),
        validate_cutoffs=_moments(validate_cutoff, "--validate-cutoff", now), settings_file=settings_file,
        bands=bands, points_per_doubling=points_per_doubling,
        regularisation=options.regularisation if regularisation is None else regularisation,
        min_support=options.min_support if min_support is None else min_support,
        at_risk_lift=options.at_risk_lift, critical_lift=options.critical_lift, as_json=as_json,
    ))


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``calibrate`` to the root command."""
    app.command("backtest", help=_BACKTEST_HELP)(backtest)
    app.command("calibrate", help=_CALIBRATE_HELP)(calibrate)
