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

``--workers N`` times the whole command instead in one process and in N (``cxpulse replay
--workers N``), back to back for ``--rounds`` rounds, not pinned (wall time is what more
processes divide; CPU is this process's and its children's), and checks that both wrote the
same alerts.jsonl and scores.jsonl byte for byte. ``--partitions`` sets the archive's
partition count (3 by default).
"""

import argparse
import cProfile
import contextlib
import gc
import io
import os
import pstats
import resource
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


def write_archive(root: Path, lines: list[bytes], partitions: int = PARTITIONS) -> None:
    """The lines as ``cxpulse archive`` would have archived them from a topic of ``partitions``."""
    manifest, lock, _ = open_for_writing(root, "cx.events")
    try:
        writer = ArchiveWriter(root, manifest)
        offsets = [0] * partitions
        for i, line in enumerate(lines):
            key = orjson.loads(line)["customer_id"].encode()
            p = key_partition(key, partitions)
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


def replay(settings: Settings, root: Path, out: Path, workers: int = 1) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # the report is built and printed, to nowhere
        run_replay(settings, ReplayRequest(source=root, topic=None, range=TimeRange(None, None), out=out,
                                           workers=workers))


def in_processes(settings: Settings, root: Path, work: Path, n: int, workers: int, rounds: int) -> None:
    """The whole command in one process and in ``workers``, back to back; the files compared."""
    for _ in range(rounds):
        for w in (1, workers):
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            replay(settings, root, work / f"out-w{w}", w)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = time.process_time() - cpu + (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
            print(f"--workers {w:<2} {n / elapsed:>10,.0f} events/s wall ({elapsed * 1e6 / n:6.2f} µs/event)   "
                  f"CPU {used * 1e6 / n:6.2f} µs/event (all processes)   load average {os.getloadavg()[0]:.2f}")
    for name in ("alerts.jsonl", "scores.jsonl"):
        same = (work / "out-w1" / name).read_bytes() == (work / f"out-w{workers}" / name).read_bytes()
        print(f"{name}: {'identical' if same else 'DIFFERENT'} in one process and in {workers}")
        if not same:
            raise SystemExit(1)


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
    parser.add_argument("--workers", type=int, default=1, help="time the replay in one process and in this many")
    parser.add_argument("--rounds", type=int, default=2, help="with --workers: rounds of the two, back to back")
    parser.add_argument("--partitions", type=int, default=PARTITIONS, help="the archive's partitions")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and args.workers == 1:
        os.sched_setaffinity(0, {args.cpu})

    parts = "" if args.partitions == PARTITIONS else f"-p{args.partitions}"
    work = Path(tempfile.gettempdir()) / f"cxpulse-replay-bench-{args.events}-{args.customers}-{args.seed}{parts}"
    root = work / "archive"
    if not (root / "manifest.json").exists():
        shutil.rmtree(work, ignore_errors=True)
        root.mkdir(parents=True)
        write_archive(root, generate(args.events, args.customers, args.seed), args.partitions)
    size = sum(p.stat().st_size for p in root.glob("*/*.jsonl.gz"))
    n = sum(f.records for f in Manifest.load(root).files.values())  # the generator trims a few
    settings = Settings()
    cpus = "one CPU" if args.workers == 1 else f"{os.cpu_count()} CPUs"
    print(f"{n:,} events ({args.customers:,} customers, {args.partitions} partitions), archive {size / 1e6:.1f} MB gzip "
          f"({size / n:.0f} bytes/event); Python {sys.version.split()[0]}, {cpus}, load average {os.getloadavg()[0]:.2f}")
    if args.workers > 1:
        in_processes(settings, root, work, n, args.workers, args.rounds)
        return 0

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
