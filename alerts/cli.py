"""``cxpulse alerts ...``: watch the alerts the worker raises."""

from typing import Annotated

import typer

from cxpulse.console import console, settings_of

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Watch and route alerts.", no_args_is_help=True)


@alerts_app.command("tail")
def tail(
    ctx: typer.Context,
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at the oldest alert, not the newest.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Stop after this many alerts.", show_default=False)] = None,
) -> None:
    """Print one line per alert as it arrives: time, severity, rule, customer, service type, summary."""
    from .console import alert_line, follow_alerts

    settings = settings_of(ctx)
    shown = 0
    for alert in follow_alerts(settings, from_beginning=from_beginning, stop=lambda: limit is not None and shown >= limit):
        console.print(alert_line(alert), markup=False, highlight=False, soft_wrap=True)
        shown += 1
        if limit is not None and shown >= limit:
            break
