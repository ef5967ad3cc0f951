"""Progress bars and summaries of the producers, on the Rich consoles of ``cxpulse.console``."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxpulse.console import err_console

from .sink import DeliveryReport

__all__ = ["Bar", "delivery_line", "progress_bar", "summary_table"]

_EVERY = 512  # refresh the bar every so many events: cheap enough for 100k events/s


class Bar:
    """A progress bar that takes absolute positions and updates Rich only now and then."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task
        self._calls = 0

    def update(self, completed: float, **fields: Any) -> None:
        self._calls += 1
        if self._progress is not None and self._calls % _EVERY == 0:
            self._progress.update(self._task, completed=completed, **fields)

    def finish(self, completed: float, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, **fields)


@contextmanager
def progress_bar(description: str, total: float | None, console: Console = err_console) -> Iterator[Bar]:
    """A bar on stderr while the work runs; nothing when stderr is not a terminal."""
    if not console.is_terminal:
        yield Bar(None, None)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total, events=0)
        yield Bar(progress, task)


def summary_table(rows: list[tuple[str, str]], title: str) -> Table:
    """A two-column table: what, how much."""
    table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value)
    return table


def delivery_line(report: DeliveryReport, target: str) -> str:
    """``"3,412 acknowledged by cx.events, 0 failed"`` (with the error types when any)."""
    text = f"{report.delivered:,} acknowledged by {target}, {report.failed:,} failed"
    return f"{text} ({report.describe_errors()})" if report.failed else text
