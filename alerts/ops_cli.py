"""``cxpulse ops up|down|status``: Prometheus, Alertmanager and a webhook sink on this machine."""

from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import console, err_console, settings_of
from cxpulse.errors import CxpulseError

__all__ = ["ops_app"]

ops_app = typer.Typer(help="Run Prometheus and Alertmanager locally with the repository's configs.",
                      no_args_is_help=True)

RunDir = Annotated[Path | None, typer.Option("--data-dir", help="Run directory (default: \\[ops] data_dir).",
                                             show_default=False)]


def _stack(ctx: typer.Context, data_dir: Path | None, workers: list[int] | None = None):
    from .ops import OpsStack

    return OpsStack.from_settings(settings_of(ctx), data_dir, worker_ports=workers or None)


@ops_app.command("up")
def up(
    ctx: typer.Context,
    data_dir: RunDir = None,
    worker_port: Annotated[list[int], typer.Option("--worker-port", help="Web port of a worker to scrape (repeat for several; default: \\[worker] web_port).", show_default=False)] = [],  # noqa: B006
) -> None:
    """Start Prometheus, Alertmanager and the webhook sink in the background; print where to look.

    Uses deploy/prometheus and deploy/alertmanager (rules, routing, inhibition) with
    targets for the ports in use. Stop them with 'cxpulse ops down'.
    """
    from .ops import DetachedProcesses

    stack = _stack(ctx, data_dir, worker_port)
    processes = DetachedProcesses(stack.run_dir)
    if processes.running():
        raise CxpulseError(f"already running ({', '.join(processes.running())}); 'cxpulse ops down' stops them")
    with err_console.status("starting Prometheus, Alertmanager and the webhook sink ..."):
        try:
            urls = stack.start(processes)
        except CxpulseError:
            processes.stop_all(grace=5)
            raise
    for name, url in urls.items():
        console.print(f"{name:13} {url}", markup=False)
    console.print(f"{'targets':13} {stack.urls['Prometheus']}/targets", markup=False)
    console.print(f"{'logs':13} {stack.run_dir / 'logs'}", markup=False)
    console.print("route alerts with 'cxpulse alerts route'; Grafana runs with 'docker compose up' (docs/operations.md)")


@ops_app.command("down")
def down(ctx: typer.Context, data_dir: RunDir = None) -> None:
    """Stop what 'cxpulse ops up' started (SIGTERM, then SIGKILL after a grace period)."""
    from .ops import DetachedProcesses

    stopped = DetachedProcesses(_stack(ctx, data_dir).run_dir).stop_all()
    console.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@ops_app.command("status")
def status(ctx: typer.Context, data_dir: RunDir = None) -> None:
    """Say what runs and answers; exit 1 when something does not."""
    from .ops import DetachedProcesses

    stack = _stack(ctx, data_dir)
    running = DetachedProcesses(stack.run_dir).running()
    ready = stack.ready()
    for name in ("prometheus", "alertmanager", "alert-sink"):
        if name not in ready:
            continue
        state = "answering" if ready[name] else ("running, not answering" if name in running else "not running")
        console.print(f"{name:13} {state}" + (f" (pid {running[name]})" if name in running else ""), markup=False)
    if not all(ready.values()):
        raise CxpulseError("not everything is up; 'cxpulse ops up' starts it")
