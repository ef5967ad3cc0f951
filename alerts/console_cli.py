"""``cxpulse console serve``: the supervisor's console in the browser."""

from typing import Annotated

import typer

from cxpulse.console import err_console, settings_of

__all__ = ["console_app"]

console_app = typer.Typer(help="The supervisor's console in the browser.", no_args_is_help=True)


@console_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: \\[console] host, 127.0.0.1).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Port (default: \\[console] port, 9102).", show_default=False)] = None,
) -> None:
    """Serve the live queue of customers at risk: one card per customer, filters, timelines, acknowledgements.

    Reads the alerts and agent-warnings topics (the alerts of the last \\[console]
    lookback_seconds, then live) and Alertmanager's receivers and silences;
    acknowledging or silencing a card creates an Alertmanager silence. On loopback by
    default; bound elsewhere it requires a bearer token with the "console" scope
    (\\[gateway] tokens). See docs/operations.md. Runs until SIGTERM or Ctrl-C.
    """
    from .console_run import run_console

    settings = settings_of(ctx)
    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if changes:
        settings = settings.model_copy(update={"console": settings.console.model_copy(update=changes)})
    run_console(settings, say=lambda m: err_console.print(m, markup=False, highlight=False))
