"""The shell of ``cxpulse alerts tail``: a live table on a terminal, plain lines otherwise."""

from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.live import Live

from .console import alert_line
from .live import AlertFilter, AlertTable

__all__ = ["show_alerts"]


def show_alerts(alerts: Iterable[dict[str, Any]], out: Console, wanted: AlertFilter, *, live: bool,
                limit: int | None = None, rows: int = 25, on_shown: Callable[[int], None] | None = None) -> int:
    """Show the alerts ``wanted`` lets through; stop after ``limit``. Returns how many were shown.

    ``live``: a Rich table of the newest ``rows`` alerts, redrawn in place (for a
    supervisor's screen); otherwise one line per alert (for pipes, files and logs).
    """
    table = AlertTable(rows=rows, title=f"cxpulse alerts — {wanted.describe()}")
    if not live:
        return _lines(alerts, out, wanted, limit, on_shown)
    with Live(table, console=out, refresh_per_second=4, transient=False) as screen:
        shown = 0
        for alert in alerts:
            if not wanted.matches(alert):
                continue
            table.add(alert)
            shown += 1
            screen.refresh()
            if on_shown:
                on_shown(shown)
            if limit is not None and shown >= limit:
                break
    return shown


def _lines(alerts: Iterable[dict[str, Any]], out: Console, wanted: AlertFilter, limit: int | None,
           on_shown: Callable[[int], None] | None) -> int:
    shown = 0
    for alert in alerts:
        if not wanted.matches(alert):
            continue
        out.print(alert_line(alert), markup=False, highlight=False, soft_wrap=True)
        shown += 1
        if on_shown:
            on_shown(shown)
        if limit is not None and shown >= limit:
            break
    return shown
