"""The shell of ``cxpulse replay``: open the source, run, diff, report, write the files."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import typer

from cxpulse.console import console, err_console
from cxpulse.settings import Settings

from .diff import AlertDiff, diff_alerts
from .errors import ReplayError
from .interrupt import stop_on_signals
from .live import read_live_alerts
from .outputs import OutputDir
from .parallel import Interrupted, ParallelReplay, assign_groups
from .progress import replay_progress
from .ranges import RangeStart, merge_partitions
from .report import print_diff, print_summary
from .republish import Republisher
from .run import Replayer, ReplayResult, fewer_collections
from .settings_file import load_engine_settings, settings_delta
from .sources import Opened, open_kafka, open_path
from .summary import summarize
from .timerange import TimeRange, to_ms

__all__ = ["ReplayRequest", "run_replay", "run_republish"]

INTERRUPTED = 130


@dataclass(frozen=True)
class ReplayRequest:
    """The options of ``cxpulse replay``, parsed."""

    source: Path | None
    topic: str | None
    range: TimeRange
    warmup: timedelta | None = None
    customer: str | None = None
    settings_file: Path | None = None
    diff: bool = False
    grace: timedelta = timedelta(seconds=60)
    pair_within: timedelta = timedelta(days=3)
    out: Path | None = None
    top: int = 10
    workers: int = 1  # processes (an archive directory's partitions split between them)

    def read_since_ms(self) -> int | None:
        since = self.range.since
        if since is None:
            return None
        return to_ms(since - self.warmup) if self.warmup else to_ms(since)


def _open(settings: Settings, request: ReplayRequest, advance) -> Opened:
    key = None if request.customer is None else request.customer.encode("utf-8")
    since, until = request.read_since_ms(), request.range.until_ms()
    if request.source is not None:
        if request.topic is not None:
            raise ReplayError("--topic reads Kafka; it cannot be combined with --from")
        return open_path(request.source, since, until, key, advance)
    return open_kafka(settings, request.topic or settings.topics.events, since, until, key, advance)


def run_replay(settings: Settings, request: ReplayRequest) -> None:
    """Replay, print the report, write ``--out``; exit 130 after a partial (Ctrl-C) report."""
    if request.workers > 1 and (request.source is None or not request.source.is_dir()):
        raise ReplayError("--workers replays an archive directory (--from DIR) in several processes; "
                          "a Kafka topic or a single file replays in one (leave --workers out)")
    engine = settings.engine
    if request.settings_file is not None:
        engine = load_engine_settings(request.settings_file, settings.engine)
    with fewer_collections():  # the final snapshots and files too: the heap is at its largest then
        _run(settings, request, engine)


def _run(settings: Settings, request: ReplayRequest, engine) -> None:
    result, source, output = _replay(settings, request, engine)
    if request.source is not None:
        _refuse_a_file_of_no_events(request.source, result)
    diff, live_count = _diff(settings, request, result) if request.diff and not result.partial else (None, None)
    snapshots = result.snapshots()
    summary = summarize(result, snapshots, source=source, since_ms=request.range.since_ms(),
                        until_ms=request.range.until_ms(), warmup=_text(request.warmup),
                        settings_changed=settings_delta(settings.engine, engine), top=request.top,
                        diff=diff, live_alerts=live_count)
    print_summary(console, summary)
    if request.diff and result.partial:
        console.print("no diff: the replay was stopped before the end of the range")
    if diff is not None:
        print_diff(console, summary, diff)
    if output is not None:
        written = output.finish(result.alerts, snapshots, summary, diff)
        console.print("wrote " + ", ".join(f"{name} ({lines})" for name, lines in written.items())
                      + f" and summary.json to {output.path}")
    if result.partial:
        raise typer.Exit(INTERRUPTED)


def _refuse_a_file_of_no_events(path: Path, result: ReplayResult) -> None:
    """A --from file in which not one record is an event is the wrong file, not an empty range."""
    counts = result.counts
    if result.partial or counts.valid or counts.duplicates or counts.warmup or not counts.invalid:
        return
    reason, _ = counts.reasons.most_common(1)[0] if counts.reasons else ("not an event", 0)
    raise ReplayError(f"{path} holds no events: none of its {counts.invalid:,} record(s) is one "
                      f"(most common reason: {reason}); give an event file (JSONL/CSV) or an archive")


def _replay(settings: Settings, request: ReplayRequest, engine) -> tuple[ReplayResult, str, OutputDir | None]:
    since = request.range.since_ms()
    if request.warmup and since is None:
        raise ReplayError("--warmup needs --since (it replays that much before it)")
    range_start = RangeStart(since) if request.warmup and since is not None else None
    with replay_progress("replaying", None) as progress:
        opened = _open(settings, request, progress.advance)
        try:
            if request.diff and not opened.timed:
                raise ReplayError("--diff needs record times to find the live alerts: replay Kafka or an archive")
            topic = request.topic or settings.topics.events
            output = None if request.out is None else OutputDir(request.out, topic)
            streams = opened.streams if range_start is None else [range_start.track(s) for s in opened.streams]
            replayer = Replayer(engine, settings.validation.max_future_seconds, customer=request.customer,
                                range_start=range_start, on_invalid=None if output is None else output.invalid,
                                partitions=opened.partitions or settings.topics.partitions)
            progress.total(opened.total)
            parallel = _parallel(request, engine, settings.validation.max_future_seconds, opened, range_start,
                                 output, progress)
            if parallel is not None:
                with stop_on_signals(parallel, "stopping the replay's processes"):
                    try:
                        result = parallel.run()
                    except Interrupted:
                        err_console.print("stopped: a replay in several processes (--workers) leaves no partial "
                                          "report; --workers 1 stops with one", highlight=False)
                        raise typer.Exit(INTERRUPTED) from None
            else:
                with stop_on_signals(replayer):
                    result = replayer.run(merge_partitions(streams), tick=progress.counted)
        finally:
            opened.close()
    return result, opened.description, output


def _parallel(request: ReplayRequest, engine, max_future_seconds: float, opened: Opened,
              range_start: RangeStart | None, output: OutputDir | None, progress) -> ParallelReplay | None:
    """The replay in ``--workers`` processes, or ``None`` when one process is what it comes to
    (one worker asked, or one partition to read: ``--customer``, a one-partition archive)."""
    if request.workers <= 1 or opened.sizes is None or opened.open_partition is None:
        return None
    groups = assign_groups(opened.sizes, request.workers)
    if len(groups) < 2:
        return None
    parallel = ParallelReplay(engine, max_future_seconds, groups, opened.open_partition, range_start=range_start,
                              on_invalid=None if output is None else output.invalid,
                              counted=progress.counted, advance=progress.advance)
    sizes, total = opened.sizes, opened.total or 0

    def grow(partitions: list[int]) -> None:  # the groups replayed again read their bytes again
        progress.total(total + sum(sizes[p] for p in partitions))

    parallel.on_rerun = grow
    return parallel


def _diff(settings: Settings, request: ReplayRequest, result: ReplayResult) -> tuple[AlertDiff, int]:
    until = request.range.until_ms()
    until = None if until is None else until + int(request.grace.total_seconds() * 1000)
    live = read_live_alerts(settings, request.range.since_ms(), until, request.customer)
    if live.unreadable:
        err_console.print(f"cxpulse: warning: {live.unreadable} records on {settings.topics.alerts} are not alerts",
                          highlight=False)
    return diff_alerts(live.alerts, result.alerts, request.pair_within.total_seconds()), len(live.alerts)


def _text(delta: timedelta | None) -> str | None:
    if delta is None:
        return None
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def run_republish(settings: Settings, request: ReplayRequest, target: str) -> None:
    """Copy the range into ``target``; exits non-zero when any record was not confirmed."""
    source_topic = request.topic or settings.topics.events
    if request.source is None and target == source_topic:
        raise ReplayError(f"--to-topic {target} is the topic being read")
    key = None if request.customer is None else request.customer.encode("utf-8")
    with replay_progress("republishing", None) as progress:
        opened = _open(settings, request, progress.advance)
        try:
            if not opened.timed:
                raise ReplayError("plain event files have no keys or record times to keep: "
                                  "use 'cxpulse produce FILE --topic NAME' for them")
            republisher = Republisher(settings.kafka, target, opened.partitions)
            progress.total(opened.total)
            with stop_on_signals(republisher):
                republisher.run(merge_partitions(opened.streams), key, tick=progress.counted)
            result = republisher.close()
        finally:
            opened.close()
    console.print(f"republished {result.delivered} of {result.sent} records from {opened.description} to {target}"
                  + (f" ({result.skipped} of other customers skipped)" if result.skipped else ""))
    if result.failed:
        raise ReplayError(f"{result.failed} records were not confirmed by Kafka: "
                          + ", ".join(f"{name} x{n}" for name, n in result.errors.items()))
    if result.partial:
        console.print("[bold red]PARTIAL[/]: stopped by Ctrl-C before the end of the range")
        raise typer.Exit(INTERRUPTED)

