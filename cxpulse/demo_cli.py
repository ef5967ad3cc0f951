"""``cxpulse demo``: run the whole pipeline locally with simulated traffic and live alerts."""

import time
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import CliState, console, settings_of
from cxpulse.demo import DEFAULT_NAMESPACE

__all__ = ["demo"]


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the simulated population.")] = 5000,
    days: Annotated[float, typer.Option(min=0.25, help="Length of the simulated period in days.")] = 3.0,
    rate: Annotated[float, typer.Option(min=0, help="Events per second the simulator sends (0: as fast as possible).")] = 300.0,
    seed: Annotated[int | None, typer.Option(min=0, help="Simulator seed (default: a new one each run, so each run is a fresh population).", show_default=False)] = None,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Worker processes (each serves its API on the next port).")] = 1,
    run_dir: Annotated[Path, typer.Option(help="Where logs, worker data and the ground truth go.")] = Path("var/demo"),
    ops: Annotated[bool, typer.Option("--ops/--no-ops", help="Also start Prometheus, Alertmanager and the alert router when installed.")] = True,
    keep_running: Annotated[bool, typer.Option("--keep-running/--exit", help="After the summary, keep the pipeline running until Ctrl-C.")] = True,
    fresh: Annotated[bool, typer.Option("--fresh/--keep-data", help="Start the demo's own broker with empty data (and fresh worker state) each run.")] = True,
    max_alert_lines: Annotated[int, typer.Option(min=0, help="Alerts printed one per line before the rest are only counted.")] = 40,
    namespace: Annotated[str, typer.Option(help="Prefix of the demo's topics and consumer groups, so it never joins another pipeline on a shared broker; '' uses the configured names.")] = DEFAULT_NAMESPACE,
) -> None:
    """Run the pipeline end to end: broker, topics, workers, traffic, alerts.

    Uses the Kafka broker at the configured address when one answers;
    otherwise runs its own local broker with its data in the run directory
    (empty each run unless --keep-data). Its topics and consumer groups are
    prefixed with --namespace (cxpulse-demo.cx.events, ...). Everything the
    demo starts stops when it ends (Ctrl-C, or --exit after the summary).
    """
    from cxpulse.demo import DemoOptions, run_demo

    state = ctx.find_object(CliState)
    options = DemoOptions(
        customers=customers, days=days, rate=rate, seed=int(time.time()) % 1_000_000 if seed is None else seed, workers=workers, run_dir=run_dir,
        config=state.config_path if state else None, keep_running=keep_running, ops=ops,
        max_alert_lines=max_alert_lines, fresh=fresh, namespace=namespace,
    )  # fmt: skip
    run_demo(settings_of(ctx), options, console)
