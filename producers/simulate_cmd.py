"""The shell of ``cxpulse simulate``: settings and options in, a sink, progress, a summary."""

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import typer

from cxpulse.console import console, err_console
from cxpulse.settings import Settings

from .display import delivery_line, progress_bar, summary_table
from .errors import ProducerError
from cxpulse.schemas.outcomes import write_outcomes

from .churn import ChurnTracker
from .groundtruth import write_ground_truth
from .rhythm import format_ms, to_ms
from .runner import RunLimits, RunStats, run_events
from .simulator import Simulation, SimulationConfig
from .sink import DeliveryReport, EventSink, JsonlSink

__all__ = ["SimulateRequest", "run_simulate"]


@dataclass(frozen=True)
class SimulateRequest:
    """The options of ``cxpulse simulate``."""

    anchor: datetime
    customers: int = 1000
    days: float = 3.0
    seed: int = 1
    rate: float = 0.0
    count: int | None = None
    duration: float | None = None
    contact_rate: float = 0.5
    struggling: float = 0.08
    outage_customers: int | None = None
    ground_truth: Path | None = None
    dry_run: bool = False
    out: Path | None = None
    topic: str | None = None
    churn: bool = False
    churn_scale: float = 1.0
    outcomes: Path | None = None
    account_events: bool = True


def run_simulate(settings: Settings, request: SimulateRequest) -> None:
    """Simulate, send, write the ground truth, print the summary; raise when events were lost."""
    _check_anchor(settings, request.anchor)
    _check_writable(request.ground_truth, "--ground-truth")
    _check_writable(request.outcomes, "--outcomes")
    if not request.churn and (request.churn_scale != 1.0 or not request.account_events):
        raise ProducerError("--churn-scale and --no-account-events need --churn (or --outcomes)")
    sim = Simulation(_config(settings, request))
    for warning in sim.warnings:
        err_console.print(f"cxpulse: warning: {warning}", markup=False)
    with _sink(settings, request) as (sink, target):
        stats = _run(sim, sink, request)
        report = sink.close()
    if request.ground_truth is not None:
        write_ground_truth(request.ground_truth, sim.ground_truth())
    if request.outcomes is not None:
        write_outcomes(request.outcomes, sim.outcomes())
    to_stdout = request.dry_run and request.out is None
    (err_console if to_stdout else console).print(summary_table(_summary(sim, stats, report, target, request), "cxpulse simulate"))
    if report.failed:
        raise ProducerError(f"{report.failed:,} of {report.sent:,} events were not delivered ({report.describe_errors()})")
    if stats.stopped_by == "interrupted":
        raise typer.Abort()


def _config(settings: Settings, request: SimulateRequest) -> SimulationConfig:
    return SimulationConfig(
        anchor=request.anchor,
        seed=request.seed,
        customers=request.customers,
        days=request.days,
        contact_rate=request.contact_rate,
        struggling=request.struggling,
        outage_customers=request.outage_customers,
        engine=settings.engine,
        churn=settings.producer.churn if request.churn else None,
        churn_events=request.account_events,
        churn_scale=request.churn_scale,
    )


def _check_anchor(settings: Settings, anchor: datetime) -> None:
    """The pipeline dead-letters events too far in the future: refuse to make them."""
    limit = settings.validation.max_future_seconds
    if to_ms(anchor) / 1000 > time.time() + limit:
        raise ProducerError(f"--anchor is more than {limit:g} s in the future; the pipeline would refuse those events")


def _check_writable(path: Path | None, option: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise ProducerError(f"{option}: directory {path.parent} does not exist")


@contextmanager
def _sink(settings: Settings, request: SimulateRequest) -> Iterator[tuple[EventSink, str]]:
    if not request.dry_run:
        topic = request.topic or settings.topics.events
        from .produce_cmd import connect_kafka

        yield connect_kafka(settings, topic), topic
        return
    if request.out is None:
        yield JsonlSink(sys.stdout.buffer), "stdout"
        return
    _check_writable(request.out, "--out")
    try:
        stream = request.out.open("wb")
    except OSError as exc:
        raise ProducerError(f"cannot write {request.out}: {exc.strerror}") from None
    with stream:
        yield JsonlSink(stream), str(request.out)


def _run(sim: Simulation, sink: EventSink, request: SimulateRequest) -> RunStats:
    limits = RunLimits(request.rate, request.count, request.duration)
    total, position = _progress_measure(sim, request)
    with progress_bar("simulating", total) as bar:
        try:
            stats = run_events(sim.events(), sink, limits, progress=lambda n, _: bar.update(position(n), events=n))
        except BrokenPipeError:  # `cxpulse simulate --dry-run | head`: the reader has gone
            _silence_stdout()
            stats = RunStats(emitted=sim.emitted, stopped_by="closed")
        bar.finish(position(stats.emitted), events=stats.emitted)
    return stats


def _progress_measure(sim: Simulation, request: SimulateRequest) -> tuple[float, Callable[[int], float]]:
    """What the bar measures: events against --count, else simulated time against the period."""
    if request.count:
        return request.count, lambda n: n
    span = sim.end_ms - sim.start_ms
    return span, lambda n: (sim.last_ms or sim.start_ms) - sim.start_ms


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _summary(sim: Simulation, stats: RunStats, report: DeliveryReport, target: str, request: SimulateRequest) -> list[tuple[str, str]]:
    when = lambda ms: format_ms(ms, sim.tz)  # noqa: E731
    patterns = Counter(s.pattern for s in sim.struggles)
    by_type = ", ".join(f"{name} {count:,}" for name, count in sorted(sim.counts.items()))
    # Said first, where a narrow terminal does not wrap it away from its meaning.
    stopped = {
        "end": "",
        "count": "stopped by --count; ",
        "duration": "stopped by --duration; ",
        "closed": "output closed; ",
        "interrupted": "interrupted; ",
    }
    rows = [
        ("period", f"{when(sim.start_ms)} .. {when(sim.end_ms)} ({sim.config.days:g} days, seed {sim.config.seed}, run {sim.run_id})"),
        ("customers", f"{sim.config.customers:,} ({sim.active_customers:,} with events)"),
        ("struggling", f"{len(sim.struggles):,}: " + ", ".join(f"{name} {n}" for name, n in sorted(patterns.items()))),
        ("outage", _outage_text(sim, when)),
        *([("churn", _churn_text(sim, sim.churn))] if sim.churn is not None else []),
        ("events", f"{stats.emitted:,} ({stopped.get(stats.stopped_by, f'{stats.stopped_by}; ')}{by_type or 'none'})"),
        ("delivery", f"written to {target}" if request.dry_run else delivery_line(report, target)),
        ("rate", f"{stats.rate:,.0f} events/s over {stats.elapsed:.1f} s"),
    ]
    if request.ground_truth is not None:
        rows.append(("ground truth", str(request.ground_truth)))
    if request.outcomes is not None:
        rows.append(("outcomes", str(request.outcomes)))
    return rows


def _outage_text(sim: Simulation, when: Callable[[int], str]) -> str:
    outage = sim.outage
    if outage is None:
        return "none"
    return f"{len(outage.customers)} customers on {outage.service_type}, {when(outage.start_ms)} .. {when(outage.end_ms)}"


def _churn_text(sim: Simulation, churn: ChurnTracker) -> str:
    churns = churn.churns
    left = [c for c in churns if c.emitted]
    by_cause = Counter(c.cause for c in left)
    where = "account events in the stream" if sim.config.churn_events else "no account events in the stream"
    return (f"{len(left):,} customers left ({by_cause['experience']:,} by their experiences, "
            f"{by_cause['hidden']:,} for reasons no event shows); {len(churns) - len(left):,} decided too late "
            f"to leave in the period; {where}")
