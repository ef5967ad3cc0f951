"""The shell of ``cxpulse alerts tail``: a live table on a terminal, plain lines otherwise."""

import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.live import Live

from .console import alert_line
from .live import AlertFilter, AlertTable

__all__ = ["REDRAW_SECONDS", "show_alerts"]

REDRAW_SECONDS = 0.25  # at most four redraws a second while alerts pour in


def show_alerts(alerts: Iterable[dict[str, Any] | None], out: Console, wanted: AlertFilter, *, live: bool,
                limit: int | None = None, rows: int = 25, on_shown: Callable[[int], None] | None = None,
                clock: Callable[[], float] = time.monotonic) -> int:
    """Show the alerts ``wanted`` lets through; stop after ``limit``. Returns how many were shown.

    ``live``: a Rich table of the newest ``rows`` alerts, redrawn in place (for a
    supervisor's screen) only when alerts came — once per batch (``None`` items mark the
    end of one) and at most every ``REDRAW_SECONDS`` — so a quiet console costs nothing;
    otherwise one line per alert (for pipes, files and logs).
    """
    if not live:
        return _lines(alerts, out, wanted, limit, on_shown)
    table = AlertTable(rows=rows, title=f"cxpulse alerts — {wanted.describe()}")
    shown, dirty, drawn = 0, False, clock()
    with Live(table, console=out, auto_refresh=False, transient=False) as screen:
        screen.refresh()
        for alert in alerts:
            if alert is not None and wanted.matches(alert):
                table.add(alert)
                shown += 1
                dirty = True
                if on_shown:
                    on_shown(shown)
            done = limit is not None and shown >= limit
            if dirty and (alert is None or done or clock() - drawn >= REDRAW_SECONDS):
                screen.refresh()
                dirty, drawn = False, clock()
            if done:
                break
        if dirty:
            screen.refresh()
    return shown


def _lines(alerts: Iterable[dict[str, Any] | None], out: Console, wanted: AlertFilter, limit: int | None,
           on_shown: Callable[[int], None] | None) -> int:
    shown = 0
    for alert in alerts:
        if alert is None or not wanted.matches(alert):
            continue
        out.print(alert_line(alert), markup=False, highlight=False, soft_wrap=True)
        shown += 1
        if on_shown:
            on_shown(shown)
        if limit is not None and shown >= limit:
            break
    return shown
