"""``cxpulse archive``: keep ``cx.events`` in date-partitioned, gzip-compressed JSONL files."""

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cxpulse.console import console, err_console, settings_of
from cxpulse.processors.replay.interrupt import stop_on_signals

from .consumer import Archiver, ArchiveRun
from .manifest import Repair
from .store import open_for_writing

__all__ = ["ARCHIVE_HELP", "archive"]

log = logging.getLogger(__name__)

ARCHIVE_HELP = """\
Copy cx.events into an archive directory, so history outlives Kafka's retention.

Layout: DIR/YYYY-MM-DD/<topic>-<partition>.jsonl.gz (UTC day of the record timestamp),
one JSON line per record with its partition, offset, timestamp, key, headers and raw
value; DIR/manifest.json records every file and where each partition resumes. Data is
fsynced before the manifest names it: after a crash, kill or Ctrl-C, the same command
resumes with no gap and no duplicate. Runs until stopped (Ctrl-C or SIGTERM finish the
current checkpoint); --once stops at the end the topic had when the run began (cron,
tests). Settings: \\[archive] dir, group_id, flush_records, flush_seconds, retention_days.
Read it back with 'cxpulse replay --from DIR' and 'cxpulse customer ID --archive DIR'.
"""


def archive(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Option("--dir", "-d", help="Archive directory (default: archive.dir).", show_default=False)] = None,
    once: Annotated[bool, typer.Option("--once", help="Stop at the topic's current end instead of running on.")] = False,
    topic: Annotated[str | None, typer.Option(help="Topic to archive (default: topics.events).", show_default=False)] = None,
) -> None:
    settings = settings_of(ctx)
    root = directory or settings.archive.dir
    name = topic or settings.topics.events
    manifest, lock, repair = open_for_writing(root, name)
    try:
        _report_repair(repair)
        archiver = Archiver(settings, root, manifest, once=once, on_checkpoint=_checkpoint_line)
        err_console.print(f"archiving {name} into {root}" + (" up to its current end" if once else
                          " (Ctrl-C or SIGTERM to stop)"), highlight=False)
        with stop_on_signals(archiver, "stopping after the current checkpoint"):
            result = archiver.run()
    finally:
        lock.release()
    _summary(result, root)


def _checkpoint_line(done, run: ArchiveRun) -> None:
    log.info("checkpoint: %d records, %d bytes (%d this run)", done.records, done.bytes, run.records)


def _report_repair(repair: Repair | None) -> None:
    if repair is None:
        return
    for name, length in repair.truncate.items():
        err_console.print(f"resume: cut {name} back to its last checkpoint ({length} bytes)", highlight=False)
    for name in repair.remove:
        err_console.print(f"resume: removed {name}, written after the last checkpoint", highlight=False)
    for name in repair.forget:
        err_console.print(f"resume: {name} is gone from disk; dropped from the manifest", highlight=False)


def _summary(result: ArchiveRun, root: Path) -> None:
    table = Table(title=f"Archived {result.records} records into {root}", title_justify="left")
    for column in ("partition", "from offset", "next offset", "records"):
        table.add_column(column, justify="right")
    for partition in sorted(result.ended_at):
        start = result.started_at.get(partition, result.ended_at[partition])
        end = result.ended_at[partition]
        table.add_row(str(partition), str(start), str(end), str(max(end - start, 0)))
    console.print(table)
    console.print(f"{result.checkpoints} checkpoints, {result.bytes} compressed bytes written")
    for gap in result.gaps:
        console.print(f"[yellow]gap[/]: partition {gap['partition']} offsets {gap['from_offset']}.."
                      f"{gap['to_offset'] - 1} expired in Kafka before they were archived")
    if result.pruned:
        console.print(f"retention: removed {len(result.pruned)} files older than archive.retention_days")
