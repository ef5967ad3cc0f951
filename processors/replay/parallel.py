"""A replay of an archive's partitions in several processes, with the one-process result.

``cxpulse replay --from DIR --workers N`` splits the archive's partitions into N groups
(balanced by bytes) and replays each group in a process of its own. What a customer's
state depends on is its own partition (a customer's events are all on one), except for
three things that span partitions, and those are what this module keeps exact:

- **Incidents** count contacts of every partition and are decided behind the watermark
  (the smallest clock of the partitions that are not idle). The groups do not decide
  them: each streams its contacts and its partitions' clocks after every record, in chunks
  as it reads, and this process walks them in the one-process order (the order
  :func:`.ranges.merge_partitions` gives: record time, then partition) meanwhile, deciding
  incidents with the same code (:class:`InlineIncidents` over :class:`PartitionClocks`) at
  the same records (:class:`.schedule.Planner`).
- **Idle partitions** follow the overall clock (the largest clock of every partition):
  their overdue tickets breach at the one-process run's looks at idle partitions, which
  happen at record times of other partitions. The groups first run without any look at
  idle partitions; this process then finds, from every group's record times and clocks,
  when the one-process run would have looked and what it would have found idle. A group
  none of whose partitions was ever idle at a look is exact as it ran (a look finds
  nothing to do on a partition that is not idle); a group with one is replayed again
  with the looks (the record, its record time and the overall clock of each: its
  *schedule*) applied between its records — its clocks and contacts do not depend on the
  looks, so the second run is checked to read the same clocks as the first.
- **The end**: every partition's tickets are checked at the final overall clock, and every
  incident window is decided, as :meth:`EngineDriver.finish` does.

Alerts are tagged with where the one-process run would have raised them (the record's
place in the merged order; then the customer's own alerts and its partition's breaches,
the idle partitions' breaches by partition, the incidents) and sorted into that order.
The result — alerts, their order, states, counts, invalid records — is the one-process
replay's; ``tests/unit/replay/test_parallel.py`` compares them on random archives.

It divides wall time, not CPU: the groups do the same work as one process, plus the
transfer of timelines, alerts and scores and this process's walk and merge; a second run
when partitions were idle costs those groups their work again (docs/benchmarks.md,
"Issue 11, target 3", step 6).
"""

import gc
import heapq
import multiprocessing
import signal
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import count
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.engine import EngineDriver, EngineSettings, RecordFailed
from cxpulse.processors.engine.clocks import PartitionClocks
from cxpulse.processors.engine.alerting import build_snapshot
from cxpulse.processors.engine.driver import DriverEngine
from cxpulse.processors.engine.engine import Engine
from cxpulse.processors.engine.orchestration import DictStore, Orchestrator, clocks_for
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.engine.state import NEVER, CustomerState
from cxpulse.schemas import Alert, InvalidEvent

from .errors import ReplayError
from .ranges import RangeStart, merge_key
from .run import TICK, ReplayCounts, ReplayResult, _stretch
from .schedule import (DUPLICATE, END, FAILED, LOOK, NOT_FED, OWN, STEPPED, ContactRow, Plan, Schedule,
                       Planner, Timeline, final_clock)
from .verdict import read_event

__all__ = ["Group", "Interrupted", "ParallelReplay", "Schedule", "assign_groups"]

STREAM_EVERY = 8192  # records a group reads between two chunks of its timeline sent to the walk
# (partition, timestamps, fates, in range, clocks, contact rows, first clocked record, done, final clock)
Chunk = tuple[int, array, bytearray, bytearray, array, list[ContactRow], int, bool, float | None]
Tag = tuple[int, int, int, int]


class GroupEngine(DriverEngine, Protocol):
    """What a group uses of the engine: :class:`Engine`, or a test's wrapper of it."""

    def snapshot_data(self, state: CustomerState) -> dict: ...

  # (place in the merged order, OWN/LOOK/INCIDENT, partition rank, sequence)
# Opens one partition's records (offset order, clipped to the range); its second argument counts bytes read.
OpenPartition = Callable[[int, Callable[[int], None] | None], Iterator[SourceRecord]]


class Interrupted(Exception):
    """:meth:`ParallelReplay.stop` was called (Ctrl-C): the processes are ended, there is no result."""


def assign_groups(sizes: dict[int, int], groups: int) -> list[list[int]]:
    """Partitions into ``groups`` groups of about equal bytes (largest first, to the lightest
    group); each group's partitions in ascending order; no empty group."""
    groups = max(1, min(groups, len(sizes)))
    loads = [(0, g) for g in range(groups)]
    members: list[list[int]] = [[] for _ in range(groups)]
    for partition in sorted(sizes, key=lambda p: (-sizes[p], p)):
        load, g = heapq.heappop(loads)
        members[g].append(partition)
        heapq.heappush(loads, (load + max(sizes[partition], 1), g))
    return [sorted(m) for m in members if m]


@dataclass
class GroupResult:
    """A group's outputs once finished."""

    alerts: list[tuple[tuple, Alert]]  # (("r", p, i, seq) | ("t", place, p, seq) | ("f", p, seq), alert)
    invalid: list[tuple[int, int, SourceRecord, str]]  # (partition, index, record, reason), in range only
    states: dict[str, bytes] | None
    scores: list[dict]  # Engine.snapshot_data of each customer, by customer id
    counts: ReplayCounts
    span: list
    failed: int = 0


class _Contacts:
    """The groups' incident route: contacts are kept with their record, never decided here."""

    __slots__ = ("check_at", "rows", "at")

    def __init__(self, rows: dict[int, list[ContactRow]]) -> None:
        self.check_at = float("inf")
        self.rows = rows  # partition -> its contact rows (the timeline's)
        self.at: tuple[list[ContactRow], int] = ([], 0)  # the record being stepped: its partition's rows, its index

    def contact(self, contact: Contact) -> list[Alert]:
        rows, i = self.at
        rows.append((i, contact.service_type, contact.customer_id, contact.occurred_at, contact.event_id))
        return []

    def stepped(self, clocks: PartitionClocks) -> list[Alert]:
        return []

    def ticked(self, clocks: PartitionClocks, owned: frozenset[int] | None) -> list[Alert]:
        return []

    def finish(self, clocks: PartitionClocks) -> list[Alert]:
        return []


class Group:
    """Replays some partitions of the archive (one process's share); see the module docstring."""

    def __init__(self, settings: EngineSettings, max_future_seconds: float, partitions: list[int],
                 open_partition: OpenPartition, range_start: RangeStart | None = None,
                 counted: Callable[[int], None] | None = None, advance: Callable[[int], None] | None = None,
                 engine: GroupEngine | None = None) -> None:
        self.settings = settings
        self.max_future_seconds = max_future_seconds
        self.partitions = partitions
        self.open_partition = open_partition
        self.range_start = range_start
        self.counted = counted  # records replayed
        self.advance = advance  # bytes read
        self.engine: GroupEngine = Engine(settings) if engine is None else engine  # a test's wraps it (faults)

    def run(self, schedule: Schedule | None = None, send: Callable[[list[Chunk]], None] | None = None) -> Timeline:
        """Replay the group's records (with the schedule's looks at idle partitions, if any);
        ``send`` is given what was read every :data:`STREAM_EVERY` records, and at the end."""
        self._states: dict[str, CustomerState] = {}
        timeline = _empty_timeline(self.partitions)
        self._route = _Contacts(timeline.contacts)
        self._core = core = Orchestrator(self.engine, DictStore(self._states), self._route, clocks_for(self.settings))
        self._alerts: list[tuple[tuple, Alert]] = []
        self._invalid: list[tuple[int, int, SourceRecord, str]] = []
        self._counts = counts = ReplayCounts()
        self._span: list = [None, None]
        self._seq = count()
        self._failed = 0
        self._sent = {p: (0, 0) for p in self.partitions}  # records and contact rows sent of each partition
        looks = schedule.looks if schedule is not None else []
        places = schedule.places if schedule is not None else {}
        track = self.range_start.track if self.range_start is not None else None
        opened = [self.open_partition(p, self.advance) for p in self.partitions]
        streams = [self._indexed(p, records if track is None else track(records))
                   for p, records in zip(self.partitions, opened, strict=True)]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams)
        includes = None if self.range_start is None else self.range_start.includes
        future, clocks, route = self.max_future_seconds, core.clocks, self._route
        stamps, fates, ranges, after, first = (timeline.stamps, timeline.fates, timeline.in_range,
                                               timeline.clocks, timeline.first)
        contacts = timeline.contacts
        look = 0
        seen = valid = 0
        for _key, p, i, record in merged:
            seen += 1
            if send is not None and seen % STREAM_EVERY == 0:
                self._send(timeline, send, False)
            if seen % TICK == 0:
                if self.counted is not None:
                    self.counted(TICK)
                gc.freeze()  # as Replayer: what outlived the chunk is the replay's state
            if looks:
                place = places[p][i]
                while look < len(looks) and looks[look][0] < place:
                    self._look(*looks[look])
                    look += 1
            ts = record.timestamp
            stamps[p].append(-1 if ts is None else ts)
            in_range = includes is None or includes(record)
            ranges[p].append(in_range)
            try:
                event = read_event(record, future, fast=True)
            except InvalidEvent as exc:
                fates[p].append(NOT_FED)
                after[p].append(NEVER)
                if in_range:
                    self._reject(p, i, record, exc.reason)
                continue
            received = None if ts is None else ts / 1000.0
            route.at = (contacts[p], i)
            try:
                result = core.step(event, p, received, received)
            except RecordFailed as failure:
                fates[p].append(FAILED)
                self._failed += 1
                own = self._taken([])
                if in_range:
                    self._reject(p, i, record, failure.reason)
                    self._tag_own(p, i, own)
                else:
                    counts.warmup += 1
            else:
                fates[p].append(DUPLICATE if result.duplicate else STEPPED)
                own = self._taken(list(result.alerts)) if core.breaches else result.alerts
                if in_range:
                    valid += 1
                    counts.duplicates += result.duplicate
                    if ts is not None:
                        _stretch(self._span, ts)
                    if own:
                        self._tag_own(p, i, own)
                else:
                    counts.warmup += 1
            after[p].append(clocks.clocks.get(p, NEVER))
            if p not in first and p in clocks.clocks:
                first[p] = i
        while look < len(looks):
            self._look(*looks[look])
            look += 1
        timeline.final = {p: c for p, c in clocks.clocks.items() if isinstance(p, int)}
        if send is not None:
            self._send(timeline, send, True)
        if self.counted is not None and seen % TICK:
            self.counted(seen % TICK)
        counts.valid += valid
        counts.read += valid
        return timeline

    def _send(self, timeline: Timeline, send: Callable[[list[Chunk]], None], done: bool) -> None:
        """What was read since the last chunk, of every partition of the group."""
        chunk: list[Chunk] = []
        for p in self.partitions:
            read, routed = self._sent[p]
            final = timeline.final.get(p) if done else None
            chunk.append((p, timeline.stamps[p][read:], timeline.fates[p][read:], timeline.in_range[p][read:],
                          timeline.clocks[p][read:], timeline.contacts[p][routed:], timeline.first.get(p, END),
                          done, final))
            self._sent[p] = (len(timeline.stamps[p]), len(timeline.contacts[p]))
        send(chunk)

    def finish(self, end: float, keep_states: bool = True) -> GroupResult:
        """The end of the stream at the overall clock ``end``: every partition's overdue tickets;
        the states' bytes come with the result only if ``keep_states``."""
        core = self._core
        for p in list(core.clocks.partitions()):
            core.advance(end, p)
            for alert in self._taken([]):
                self._alerts.append((("f", p, next(self._seq)), alert))
        states = self._states
        data = {cid: state.to_bytes() for cid, state in states.items()} if keep_states else None
        scores = [self.engine.snapshot_data(states[cid]) for cid in sorted(states)]
        return GroupResult(self._alerts, self._invalid, data, scores, self._counts, self._span, failed=self._failed)

    def _look(self, place: int, now: float, overall: float) -> None:
        """The one-process run's look at idle partitions after the record at ``place``."""
        core = self._core
        clocks = core.clocks
        if overall > clocks.overall:
            clocks.overall = overall  # the largest clock of every partition, this group's or not
        for p in [q for q in clocks.partitions() if isinstance(q, int)]:
            core.tick(now, frozenset((p,)), every=False)
            for alert in self._taken([]):
                self._alerts.append((("t", place, p, next(self._seq)), alert))

    def _taken(self, alerts: list[Alert]) -> list[Alert]:
        core = self._core
        for _, breach in core.breaches:
            alerts += breach.alerts
        core.breaches.clear()
        core.raised.clear()  # the groups' route raises nothing
        return alerts

    def _tag_own(self, p: int, i: int, alerts: list[Alert]) -> None:
        seq = self._seq
        self._alerts.extend((("r", p, i, next(seq)), alert) for alert in alerts)

    def _reject(self, p: int, i: int, record: SourceRecord, reason: str) -> None:
        counts = self._counts
        counts.read += 1
        counts.invalid += 1
        counts.reasons[reason] += 1
        _stretch(self._span, record.timestamp)
        self._invalid.append((p, i, record, reason))

    @staticmethod
    def _indexed(p: int, records: Iterator[SourceRecord]) -> Iterator[tuple[tuple[int, int], int, int, SourceRecord]]:
        """``(merge key, partition, index, record)``: the key of :func:`.ranges.merge_partitions`."""
        for i, record in enumerate(records):
            yield merge_key(record), p, i, record


def merge(settings: EngineSettings, the_plan: Plan, results: list[GroupResult], ranges: dict[int, bytearray],
          on_invalid: Callable[[SourceRecord, str], None] | None, elapsed: float) -> ReplayResult:
    """The groups' outputs as one replay's result, in the one-process order."""
    places, order, ranks = the_plan.places, the_plan.order, the_plan.ranks
    tagged: list[tuple[Tag, Alert]] = list(the_plan.incidents)
    invalid: list[tuple[int, SourceRecord, str]] = []
    counts = ReplayCounts()
    span: list = [None, None]
    driver = EngineDriver(settings, keep_alerts=False)
    state_bytes: dict[str, bytes] | None = {}
    for result in results:
        for tag, alert in result.alerts:
            kind = tag[0]
            if kind == "r":
                _, p, i, s = tag
                tagged.append(((places[p][i], OWN, 0, s), alert))
            elif kind == "t":
                _, place, p, s = tag
                q, j = order[place]
                if ranges[q][j]:
                    tagged.append(((place, LOOK, ranks.get(p, END), s), alert))
            else:
                _, p, s = tag
                tagged.append(((END, OWN, ranks.get(p, END), s), alert))
        invalid.extend((places[p][i], record, reason) for p, i, record, reason in result.invalid)
        c = result.counts
        counts.read += c.read
        counts.valid += c.valid
        counts.invalid += c.invalid
        counts.duplicates += c.duplicates
        counts.warmup += c.warmup
        counts.reasons.update(c.reasons)
        _stretch(span, result.span[0])
        _stretch(span, result.span[1])
        driver.failed += result.failed
        if result.states is None or state_bytes is None:
            state_bytes = None
        else:
            state_bytes.update(result.states)
    tagged.sort(key=lambda item: item[0])
    scores = [build_snapshot(data) for data in heapq.merge(*(r.scores for r in results), key=_customer)]
    if on_invalid is not None:
        invalid.sort(key=lambda item: item[0])
        for _, record, reason in invalid:
            on_invalid(record, reason)
    driver.incident_states.update(the_plan.route.states)
    driver.events = counts.valid + counts.warmup
    driver.duplicates = counts.duplicates
    return ReplayResult(counts, [alert for _, alert in tagged], driver, False, elapsed, span[0], span[1],
                        final_scores=scores, state_bytes=state_bytes)


def _customer(data: dict) -> str:
    return data["customer_id"]


class ParallelReplay:
    """Runs the groups (in processes, or one after another in this one with ``processes=False``,
    as the tests do), merges them; :meth:`stop` (Ctrl-C) ends it with no result."""

    def __init__(self, settings: EngineSettings, max_future_seconds: float, groups: list[list[int]],
                 open_partition: OpenPartition, *, range_start: RangeStart | None = None,
                 on_invalid: Callable[[SourceRecord, str], None] | None = None,
                 counted: Callable[[int], None] | None = None, advance: Callable[[int], None] | None = None,
                 processes: bool = True, keep_states: bool = False, engine: GroupEngine | None = None) -> None:
        self.settings = settings
        self.max_future_seconds = max_future_seconds
        self.groups = groups
        self.open_partition = open_partition
        self.range_start = range_start
        self.on_invalid = on_invalid
        self.counted = counted  # records replayed (the progress bar's count)
        self.advance = advance  # bytes read (the progress bar)
        self.processes = processes
        # The final states come back as bytes only when asked (ReplayResult.states(); the tests):
        # the report and the files need only the scores, and encoding, sending and keeping
        # every state is a tenth of the processes' time.
        self.keep_states = keep_states
        self.engine = engine
        self.stopping = False
        self.reran: list[int] = []  # the groups replayed a second time (a partition of theirs was idle)
        self._records = self._read = 0  # what the progress bar was told
        self.phases: dict[str, float] = {}  # wall seconds of each phase of the last run in processes
        # Called with the partitions about to be replayed again (the progress bar grows by them).
        self.on_rerun: Callable[[list[int]], None] | None = None

    def stop(self) -> None:
        self.stopping = True

    def run(self) -> ReplayResult:
        started = time.perf_counter()
        if not self.processes:
            return self._run_here(started)
        return self._run_processes(started)

    def _group(self, members: list[int], counted: Callable[[int], None] | None,
               advance: Callable[[int], None] | None) -> Group:
        return Group(self.settings, self.max_future_seconds, members, self.open_partition, self.range_start,
                     counted, advance, self.engine)

    def _run_here(self, started: float) -> ReplayResult:
        groups = [self._group(m, self.counted, self.advance) for m in self.groups]
        walk = _Walk(self.settings, self.groups)
        for g, group in enumerate(groups):
            group.run(send=partial(walk.take, g))
        timelines = walk.timelines
        the_plan = walk.planner.plan()
        schedule = Schedule(the_plan.looks, the_plan.places)
        self.reran = [g for g, group in enumerate(groups) if the_plan.idle.intersection(group.partitions)]
        if self.reran and self.on_rerun is not None:
            self.on_rerun([p for g in self.reran for p in self.groups[g]])
        for g, (group, timeline) in enumerate(zip(groups, timelines, strict=True)):
            if g in self.reran:
                _check_same(timeline, group.run(schedule))
        results = [group.finish(the_plan.end, self.keep_states) for group in groups]
        return merge(self.settings, the_plan, results, _ranges(timelines), self.on_invalid,
                     time.perf_counter() - started)

    def _run_processes(self, started: float) -> ReplayResult:
        context = multiprocessing.get_context("fork")
        # Each process counts its records and bytes in its own slots: no lock, one writer per slot.
        progress = context.Array("q", 2 * len(self.groups), lock=False)
        workers: list[tuple[Any, Connection]] = []
        try:
            for g, members in enumerate(self.groups):
                parent, child = context.Pipe()
                group = self._group(members, _Counter(progress, 2 * g), _Counter(progress, 2 * g + 1))
                process = context.Process(target=_serve, args=(child, group), name=f"cxpulse-replay-{g}", daemon=True)
                process.start()
                child.close()
                workers.append((process, parent))
            conns = [conn for _, conn in workers]
            mark = self._mark("start", started)
            walk = _Walk(self.settings, self.groups)
            self._gather(conns, progress, walk)  # the walk goes on as the chunks come
            timelines = walk.timelines
            mark = self._mark("groups", mark)
            # The end is known from the clocks alone: the groups finish while this process plans.
            end = final_clock(timelines)
            for conn in conns:
                conn.send(("finish", (end, self.keep_states)))
            the_plan = walk.planner.plan()
            schedule = Schedule(the_plan.looks, the_plan.places)
            mark = self._mark("plan", mark)
            results = self._gather(conns, progress)
            mark = self._mark("finish", mark)
            rerun = [g for g, members in enumerate(self.groups) if the_plan.idle.intersection(members)]
            self.reran = rerun
            if rerun and self.on_rerun is not None:
                self.on_rerun([p for g in rerun for p in self.groups[g]])
            for g in rerun:
                conns[g].send(("rerun", schedule))
            for g, again in zip(rerun, self._gather([conns[g] for g in rerun], progress), strict=True):
                _check_same(timelines[g], again)
                conns[g].send(("finish", (end, self.keep_states)))
            for g, result in zip(rerun, self._gather([conns[g] for g in rerun], progress), strict=True):
                results[g] = result
            for conn in conns:
                conn.send(("done", None))
            mark = self._mark("second runs", mark)
            merged = merge(self.settings, the_plan, results, _ranges(timelines), self.on_invalid,
                           time.perf_counter() - started)
            self._mark("merge", mark)
            return merged
        finally:
            for process, conn in workers:
                conn.close()
                if process.is_alive():
                    process.terminate()
                process.join(5)

    def _mark(self, phase: str, since: float) -> float:
        """Note the wall time of ``phase`` (in :attr:`phases`, for the benchmark); returns now."""
        now = time.perf_counter()
        self.phases[phase] = now - since
        return now

    def _gather(self, conns: list[Connection], progress, walk: "_Walk | None" = None) -> list[Any]:
        """One answer from each connection, in their order; the progress counters meanwhile;
        the chunks of timeline that come before (the first runs) go to ``walk``."""
        answers: dict[int, Any] = {}
        while len(answers) < len(conns):
            if self.stopping:
                raise Interrupted
            ready = wait([c for k, c in enumerate(conns) if k not in answers], timeout=0.2)
            self._report(progress)
            for conn in ready:
                k = conns.index(conn)  # type: ignore[arg-type]
                try:
                    kind, value = conns[k].recv()
                except EOFError:
                    raise ReplayError("a replay worker process ended without an answer (killed?)") from None
                if kind == "error":
                    raise ReplayError(value)
                if kind == "chunk" and walk is not None:
                    walk.take(k, value)
                    continue
                answers[k] = value
                gc.freeze()  # the states and alerts received live until the end: out of the collector's sight
        self._report(progress)
        return [answers[k] for k in range(len(conns))]

    def _report(self, progress) -> None:
        """Move the progress bar by what the processes counted since the last report."""
        records, read = sum(progress[0::2]), sum(progress[1::2])
        if self.counted is not None and records > self._records:
            self.counted(records - self._records)
        if self.advance is not None and read > self._read:
            self.advance(read - self._read)
        self._records, self._read = records, read


class _Counter:
    """A group process's progress: records replayed, in its slot of a shared array."""

    __slots__ = ("slots", "slot")

    def __init__(self, slots, slot: int) -> None:
        self.slots, self.slot = slots, slot

    def __call__(self, records: int) -> None:
        self.slots[self.slot] += records


def _serve(conn: Connection, group: Group) -> None:
    """A group process: run, finish; run again with a schedule and finish again if asked; until "done"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the processes
    try:
        group.run(send=lambda chunk: conn.send(("chunk", chunk)))
        conn.send(("ran", None))
        while True:
            command, value = conn.recv()
            if command == "rerun":
                conn.send(("timeline", group.run(value)))
            elif command == "finish":
                conn.send(("result", group.finish(*value)))
            else:
                return
    except EOFError:
        return
    except ReplayError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the replay
        conn.send(("error", f"a replay worker process failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _empty_timeline(partitions: list[int]) -> Timeline:
    timeline = Timeline()
    for p in partitions:
        timeline.stamps[p], timeline.fates[p], timeline.in_range[p] = array("q"), bytearray(), bytearray()
        timeline.clocks[p], timeline.contacts[p] = array("d"), []
    return timeline


class _Walk:
    """The groups' chunks of timeline, put together (a :class:`Timeline` per group) and walked."""

    def __init__(self, settings: EngineSettings, groups: list[list[int]]) -> None:
        self.planner = Planner(settings, [p for members in groups for p in members])
        self.timelines = [_empty_timeline(members) for members in groups]

    def take(self, group: int, chunk: list[Chunk]) -> None:
        timeline, planner = self.timelines[group], self.planner
        for p, stamps, fates, in_range, clocks, rows, first, done, final in chunk:
            timeline.stamps[p].extend(stamps)
            timeline.fates[p].extend(fates)
            timeline.in_range[p].extend(in_range)
            timeline.clocks[p].extend(clocks)
            timeline.contacts[p].extend(rows)
            if first != END:
                timeline.first[p] = first
            if final is not None:
                timeline.final[p] = final
            planner.add(p, list(stamps), list(fates), list(in_range), list(clocks), rows, first, done,
                        NEVER if final is None else final)


def _check_same(first: Timeline, again: Timeline) -> None:
    if not first.same_clocks(again):
        raise ReplayError("the parallel replay's second run of a group read different clocks than its first "
                          "(a bug): replay with --workers 1")


def _ranges(timelines: list[Timeline]) -> dict[int, bytearray]:
    ranges: dict[int, bytearray] = {}
    for t in timelines:
        ranges.update(t.in_range)
    return ranges
