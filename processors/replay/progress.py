"""The progress bar of the replay tools: how far through the source, and events per second."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from cxpulse.console import err_console

__all__ = ["ReplayProgress", "replay_progress"]


class ReplayProgress:
    """``advance(n)`` moves the bar (records or bytes); ``counted(n)`` adds processed records."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress, self._task = progress, task
        self._records = 0
        self._started = time.perf_counter()

    def total(self, total: int | None) -> None:
        """Set the bar's length once the source knows it (records or compressed bytes)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, amount: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def counted(self, records: int) -> None:
        self._records += records
        if self._progress is not None and self._task is not None:
            rate = self._records / max(time.perf_counter() - self._started, 1e-9)
            self._progress.update(self._task, records=self._records, rate=rate)


@contextmanager
def replay_progress(label: str, total: int | None) -> Iterator[ReplayProgress]:
    """A bar on stderr when it is a terminal (nothing otherwise: logs and pipes stay clean)."""
    if not err_console.is_terminal:
        yield ReplayProgress(None, None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[records]:,} records, {task.fields[rate]:,.0f}/s"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=total, records=0, rate=0.0)
        yield ReplayProgress(progress, task)
