"""The shell of ``cxpulse customer ID``: read the customer's partition, build, print."""

import sys
from pathlib import Path

import orjson
import typer

from cxpulse.console import console
from cxpulse.settings import Settings
from cxpulse.processors.engine.alerting import score_text

from .errors import ReplayError
from .interrupt import stop_on_signals
from .progress import replay_progress
from .ranges import merge_partitions
from .sources import open_kafka, open_path
from .timeline import TimelineBuilder
from .timeline_view import print_timeline, timeline_json
from .timeline_view import when as _when
from .timerange import TimeRange

__all__ = ["run_customer"]


def run_customer(settings: Settings, customer_id: str, archive: Path | None, window: TimeRange,
                 as_json: bool) -> None:
    """Replay the customer's history and show the rows of ``window``."""
    key = customer_id.encode("utf-8")
    builder = TimelineBuilder(settings.engine, customer_id, settings.validation.max_future_seconds)
    with replay_progress(f"reading {customer_id}'s history", None) as progress:
        opened = (open_path(archive, None, None, key, progress.advance) if archive is not None
                  else open_kafka(settings, settings.topics.events, None, None, key, progress.advance))
        try:
            progress.total(opened.total)
            with stop_on_signals(builder):
                timeline = builder.build(merge_partitions(opened.streams))
        finally:
            opened.close()
    if timeline.final is None and not timeline.partial:
        raise ReplayError(f"no events of customer {customer_id!r} in {opened.description} "
                          f"({timeline.records_read:,} records read); ids are case-sensitive")
    rows = timeline.window(window.since, window.until)
    if as_json:
        data = timeline_json(timeline, rows, opened.description, window.since, window.until)
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _print(timeline, rows, window, opened.description)
    if timeline.partial:
        raise typer.Exit(130)


def _print(timeline, rows, window: TimeRange, source: str) -> None:
    if timeline.partial:
        console.print("[bold red]PARTIAL[/]: stopped by Ctrl-C; the history below is incomplete")
    if timeline.final is None:
        console.print(f"no events of {timeline.customer_id} in {source} ({timeline.records_read} records read)")
        return
    span = ""
    if window.since or window.until:
        since = _when(window.since) if window.since else "the beginning"
        until = _when(window.until) if window.until else "the end"
        span = f", {since} .. {until}"
    shown = sum(r.kind != "clock" for r in rows)
    title = (f"{timeline.customer_id}: {shown} of {sum(r.kind != 'clock' for r in timeline.rows)} "
             f"records{span} (from {source})")
    _before(timeline, window)
    print_timeline(console, timeline, rows, title)


def _before(timeline, window: TimeRange) -> None:
    """What the window does not show but its first score depends on: the history before it."""
    if window.since is None:
        return
    earlier = [r for r in timeline.rows if r.at < window.since and r.score is not None]
    if earlier:
        last = earlier[-1]
        console.print(f"before {_when(window.since)}: {len(earlier)} earlier record(s); score {score_text(last.score)} "
                      f"({last.band}) after the last of them, at {_when(last.at)}")
