"""Replay benchmark: ``cxpulse replay --from ARCHIVE --out DIR`` end to end, on one core.

Writes the engine benchmark's event stream (``bench_engine.generate``: calls, ticket
lifecycles with due times, surveys, late events, an outage burst) as a real archive — the
gzip JSONL files and manifest ``cxpulse archive`` writes, 3 partitions keyed by customer —
then runs the replay tool's own code path on it (``run_replay``: read and decompress,
decode lines, merge partitions, the worker's verdict, the engine, alerts/scores/summary
files, the report) and times the stages on their own to show where the time goes:

- ``read``: archive files to records (gzip, line splitting, ``decode_line``, merge);
- ``+verdict``: and the live worker's verdict on each (``decode_event``, key check), as the replay runs it;
- ``replay``: the whole command, outputs included (wall and CPU time);
- ``outputs``: the final snapshots, alerts.jsonl, scores.jsonl, summary.json and the report alone.

The process is pinned to one CPU. Usage::

    python bench/bench_replay.py --events 300000 --customers 50000 [--profile]
"""

import argparse
import cProfile
import contextlib
import gc
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import generate, timed as measure  # noqa: E402  (the same stream and timer as the engine bench)

from cxpulse.processors.archive import Manifest, SourceRecord  # noqa: E402
from cxpulse.processors.archive.store import open_for_writing  # noqa: E402
from cxpulse.processors.archive.writer import ArchiveWriter  # noqa: E402
from cxpulse.processors.replay.ranges import key_partition, merge_partitions  # noqa: E402
from cxpulse.processors.replay.outputs import OutputDir  # noqa: E402
from cxpulse.processors.replay.replay_cmd import ReplayRequest, run_replay  # noqa: E402
from cxpulse.processors.replay.report import print_summary  # noqa: E402
from cxpulse.processors.replay.run import Replayer, fewer_collections  # noqa: E402
from cxpulse.processors.replay.summary import summarize  # noqa: E402
from cxpulse.processors.replay.sources import open_archive  # noqa: E402
from cxpulse.processors.replay.timerange import TimeRange  # noqa: E402
from cxpulse.processors.replay.verdict import read_event  # noqa: E402
from cxpulse.settings import Settings  # noqa: E402

WRITTEN_MS = 1741737600000  # 2025-03-12: after the generated week, so nothing is "from the future"
PARTITIONS = 3


def write_archive(root: Path, lines: list[bytes]) -> None:
    """The lines as ``cxpulse archive`` would have archived them from a 3-partition topic."""
    manifest, lock, _ = open_for_writing(root, "cx.events")
    try:
        writer = ArchiveWriter(root, manifest)
        offsets = [0] * PARTITIONS
        for i, line in enumerate(lines):
            key = orjson.loads(line)["customer_id"].encode()
            p = key_partition(key, PARTITIONS)
            writer.add(SourceRecord(p, offsets[p], WRITTEN_MS + i, key, line))
            offsets[p] += 1
            if writer.buffered >= 50_000:
                writer.checkpoint()
        writer.checkpoint()
    finally:
        lock.release()


def read_only(root: Path, verdict: bool) -> None:
    opened = open_archive(root, None, None, None, lambda n: None)
    for record in merge_partitions(opened.streams):
        if verdict:
            read_event(record, 86400.0, fast=True)


def outputs(settings: Settings, root: Path, out: Path) -> float:
    """CPU seconds to turn a finished replay into its files and report (snapshots included)."""
    opened = open_archive(root, None, None, None, lambda n: None)
    result = Replayer(settings.engine, 86400.0).run(merge_partitions(opened.streams))
    gc.collect()
    cpu = time.process_time()
    with fewer_collections():  # as run_replay does
        snapshots = result.snapshots()
        summary = summarize(result, snapshots, source="bench", since_ms=None, until_ms=None, warmup=None,
                            settings_changed={})
        OutputDir(out, "cx.events").finish(result.alerts, snapshots, summary, None)
        print_summary(Console(file=io.StringIO(), width=120), summary)
    return time.process_time() - cpu


def replay(settings: Settings, root: Path, out: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # the report is built and printed, to nowhere
        run_replay(settings, ReplayRequest(source=root, topic=None, range=TimeRange(None, None), out=out))


class Collections:
    """CPU time the cyclic garbage collector takes while it is installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds, self.count, self._started = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.count += 1


CATEGORIES = [  # (label, substrings of "file:function" that belong to it), first match wins
    ("archive read + gzip", ("gzlines", "zlib", "igzip", "isal", "decompress", "method 'split'", "method 'read'")),
    ("line decode", ("archive/lines.py", "archive/record.py", "orjson.loads")),
    ("merge partitions", ("heapq", "ranges.py")),
    ("verdict (decode_event)", ("verdict.py", "validation.py", "schemas/", "<fastdecode", "msgspec", "validate_json",
                                "pydantic")),
    # The compiled engine's methods show as methods of its classes, not as files (the driver,
    # clocks, SLA index, incidents and orchestration core are compiled too: all of it is under feed).
    ("engine", ("processors/engine/", "of 'Engine' objects", "of 'CustomerState' objects", "of 'Compiled' objects",
                "of 'EngineDriver' objects")),
    ("replay loop", ("replay/run.py",)),
    ("outputs + report", ("outputs.py", "summary.py", "report.py", "rich/", "model_dump", "orjson.dumps",
                          "method 'write'")),
]


def profile(settings: Settings, root: Path, out: Path) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(replay, settings, root, out)
    stats = pstats.Stats(profiler)
    shares: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{name}"
        label = next((lab for lab, keys in CATEGORIES if any(k in where for k in keys)), "other")
        shares[label] += tottime
    total = sum(shares.values())
    print("\nwhere the time goes (cProfile self time; profiling slows everything, the shares are what count):")
    for label, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {label:<24} {100 * seconds / total:5.1f} %")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    print(text.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    parser.add_argument("--profile", action="store_true", help="where the time goes (cProfile of one replay)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    work = Path(tempfile.gettempdir()) / f"cxpulse-replay-bench-{args.events}-{args.customers}-{args.seed}"
    root = work / "archive"
    if not (root / "manifest.json").exists():
        shutil.rmtree(work, ignore_errors=True)
        root.mkdir(parents=True)
        write_archive(root, generate(args.events, args.customers, args.seed))
    size = sum(p.stat().st_size for p in root.glob("*/*.jsonl.gz"))
    n = sum(f.records for f in Manifest.load(root).files.values())  # the generator trims a few
    settings = Settings()
    print(f"{n:,} events ({args.customers:,} customers), archive {size / 1e6:.1f} MB gzip ({size / n:.0f} bytes/event); "
          f"Python {sys.version.split()[0]}, one CPU, load average {os.getloadavg()[0]:.2f}")

    measure("read", lambda: read_only(root, False), n)
    measure("+verdict", lambda: read_only(root, True), n)
    out = work / "out"
    collections = Collections()

    def counted() -> None:  # the collections of the replay alone (timed collects before it starts)
        gc.callbacks.append(collections)
        try:
            replay(settings, root, out)
        finally:
            gc.callbacks.remove(collections)

    measure("replay", counted, n)
    summary = orjson.loads((out / "summary.json").read_bytes())
    print(f"          {summary['alerts']['total']:,} alerts, {summary['customers']['total']:,} customers, "
          f"loop alone {summary['events_per_second']:,} events/s; {collections.count} collections took "
          f"{collections.seconds * 1e6 / n:.2f} µs per event")
    used = outputs(settings, root, work / "out-only")
    print(f"outputs   {used:.2f} s CPU for {summary['alerts']['total']:,} alerts and {summary['customers']['total']:,} "
          f"scores ({used * 1e6 / n:.2f} µs per replayed event)")
    if args.profile:
        profile(settings, root, work / "out-profiled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
