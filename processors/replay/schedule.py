"""What the groups of a parallel replay read, and the one-process run rebuilt from it (:class:`Planner`).

Each group of partitions (:mod:`.parallel`) sends its :class:`Timeline` in chunks as it reads:
for every record of its partitions, the record time, its fate (not an event, stepped, a
duplicate, failed), whether it is in the range, its partition's clock after it, and the
contacts it routed. :class:`Planner` merges the chunks into the one-process order (:func:`.ranges.merge_partitions`:
record time, then partition; a partition in offset order), and walks it with the live
worker's own clocks and incident rule (:class:`PartitionClocks`, :class:`InlineIncidents`)
as :class:`EngineDriver` would have: which records it looked at idle partitions after (and
the overall clock then), which partitions it found idle, the incident alerts and where each
was raised, the end's clock, and the order the partitions' clocks were first set in.

Compiled with mypyc (``cxpulse/compiled.py``): this walk is the parallel replay's serial part.
"""

import heapq
from array import array
from dataclasses import dataclass, field

from cxpulse.schemas import Alert

from cxpulse.processors.engine.clocks import PartitionClocks
from cxpulse.processors.engine.driver import IDLE_CHECK_EVERY
from cxpulse.processors.engine.incident import IncidentEngine
from cxpulse.processors.engine.orchestration import InlineIncidents, clocks_for
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.engine.settings import EngineSettings
from cxpulse.processors.engine.state import NEVER

__all__ = ["DUPLICATE", "END", "FAILED", "INCIDENT", "LOOK", "NOT_FED", "OWN", "STEPPED", "ContactRow", "Plan",
           "Planner", "Schedule", "Timeline", "final_clock"]

# A record's fate in a group: not an event (not fed), stepped, a duplicate, or failed (dead-lettered).
NOT_FED = 0
STEPPED = 1
DUPLICATE = 2
FAILED = 3
END = 1 << 62  # the place of what the end of the stream raises: after every record
# What raised an alert at a record, in the one-process order: the customer's own step (with its
# partition's breaches), then the look at idle partitions after it, then the incident rule.
OWN = 0
LOOK = 1
INCIDENT = 2

# A routed contact: (record index in its partition, service type, customer id, occurred at, event id).
ContactRow = tuple[int, str, str, float, str]


@dataclass
class Timeline:
    """What a group read: for each record of each of its partitions (offset order), its
    timestamp, its fate, whether it is in the range, and its partition's clock after it."""

    stamps: dict[int, array] = field(default_factory=dict)  # ms, -1: none
    fates: dict[int, bytearray] = field(default_factory=dict)
    in_range: dict[int, bytearray] = field(default_factory=dict)
    clocks: dict[int, array] = field(default_factory=dict)
    first: dict[int, int] = field(default_factory=dict)  # partition -> first record after which it has a clock
    final: dict[int, float] = field(default_factory=dict)  # partition -> its clock after the last record
    contacts: dict[int, list[ContactRow]] = field(default_factory=dict)  # partition -> its contacts, in order

    def same_clocks(self, other: "Timeline") -> bool:
        """Whether ``other`` read the same fates, clocks and contacts (a second run must)."""
        return (self.fates == other.fates and self.clocks == other.clocks and self.first == other.first
                and self.contacts == other.contacts)


@dataclass
class Schedule:
    """The one-process run's looks at idle partitions: ``(place, record time, overall clock)``
    — after the record at ``place`` in the merged order."""

    looks: list[tuple[int, float, float]]
    places: dict[int, array]  # partition -> the merged-order place of each of its records


@dataclass
class Plan:
    """What the walk of every group's timeline found."""

    order: list[tuple[int, int]]  # (partition, index) of every record, in the merged order
    places: dict[int, array]
    looks: list[tuple[int, float, float]]
    idle: set[int]  # partitions idle at one of the looks
    end: float
    ranks: dict[int, int]  # partition -> its place in the clocks' order
    incidents: list[tuple[tuple[int, int, int, int], Alert]]
    route: InlineIncidents


def final_clock(timelines: list[Timeline]) -> float:
    """The overall clock at the end: the largest partition clock (clocks never go back)."""
    end = NEVER
    for t in timelines:
        for clock in t.final.values():
            if clock > end:
                end = clock
    return end


class Planner:
    """The walk of the merged order, fed as the groups read (:meth:`add`), done at :meth:`plan`.

    Records are taken in :func:`.ranges.merge_partitions`'s order — the smallest ``(timestamp,
    partition)`` among the partitions' next records, each partition in index order — as far as
    every partition not yet finished has a record waiting (one that has none might still send a
    smaller one). So the walk goes on while the groups replay, and ends when they have all
    finished, having taken every record in the one-process order.
    """

    def __init__(self, settings: EngineSettings, partitions: list[int]) -> None:
        self.parts = sorted(partitions)
        self.slot = {p: k for k, p in enumerate(self.parts)}
        n = len(self.parts)
        self.stamps: list[list[int]] = [[] for _ in range(n)]
        self.fates: list[list[int]] = [[] for _ in range(n)]
        self.after: list[list[float]] = [[] for _ in range(n)]
        self.ranges: list[list[int]] = [[] for _ in range(n)]
        self.rows: list[list[ContactRow]] = [[] for _ in range(n)]
        self.firsts: list[int] = [END] * n
        self.finals: dict[int, float] = {}
        self.done: list[bool] = [False] * n
        self.taken: list[int] = [0] * n  # each partition's next record to take
        self.nexts: list[int] = [0] * n  # each partition's next contact row
        self.places: list[list[int]] = [[] for _ in range(n)]
        self.order: list[tuple[int, int]] = []
        self.heads: list[tuple[int, int]] = []  # (timestamp, slot) of each partition's next record
        self.waiting = n  # partitions with no record waiting that have not finished
        self.clocks: PartitionClocks = clocks_for(settings)
        self.route = InlineIncidents(IncidentEngine(settings))
        self.looks: list[tuple[int, float, float]] = []
        self.idle: set[int] = set()
        self.incidents: list[tuple[tuple[int, int, int, int], Alert]] = []
        self.check_idle_at = NEVER
        self.seq = 0

    def add(self, partition: int, stamps: list[int], fates: list[int], ranges: list[int], after: list[float],
            rows: list[ContactRow], first: int, done: bool, final: float) -> None:
        """The next records a group read of ``partition`` (``first``: its first record with a
        clock, ``END`` if not yet); ``done``: the last of them, with its ``final`` clock."""
        k = self.slot[partition]
        if self.done[k]:
            raise ValueError(f"partition {partition} was finished already")
        had = len(self.stamps[k]) > self.taken[k]
        self.stamps[k].extend(stamps)
        self.fates[k].extend(fates)
        self.ranges[k].extend(ranges)
        self.after[k].extend(after)
        self.rows[k].extend(rows)
        self.places[k].extend([0] * len(stamps))
        if first < self.firsts[k]:
            self.firsts[k] = first
        if not had and len(self.stamps[k]) > self.taken[k]:
            heapq.heappush(self.heads, (self.stamps[k][self.taken[k]], k))
            self.waiting -= 1
        if done:
            self.done[k] = True
            self.finals[partition] = final
            if not had and len(self.stamps[k]) == self.taken[k]:
                self.waiting -= 1  # finished with nothing waiting: it holds nothing back
        self._walk()

    def _walk(self) -> None:
        heads, stamps, taken = self.heads, self.stamps, self.taken
        while heads and self.waiting == 0:
            _, k = heapq.heappop(heads)
            i = taken[k]
            taken[k] = i + 1
            self._take(k, i)
            if i + 1 < len(stamps[k]):
                heapq.heappush(heads, (stamps[k][i + 1], k))
            elif not self.done[k]:
                self.waiting += 1  # its next record is still to come: nothing after it can be taken

    def _take(self, k: int, i: int) -> None:
        """One record, in the merged order: the one-process run's clocks, incidents and looks."""
        place = len(self.order)
        self.order.append((self.parts[k], i))
        self.places[k][i] = place
        fate = self.fates[k][i]
        if fate == NOT_FED:
            return
        clocks, route = self.clocks, self.route
        p = self.parts[k]
        ts = self.stamps[k][i]
        timed = ts >= 0
        received = ts / 1000.0
        if timed:
            clocks.hear(p, received)
        if fate != DUPLICATE:
            if i >= self.firsts[k]:
                clocks.observe(p, self.after[k][i])
            raised: list[Alert] = []
            rows = self.rows[k]
            n = self.nexts[k]
            if n < len(rows) and rows[n][0] == i:
                row = rows[n]
                self.nexts[k] = n + 1
                raised += route.contact(Contact(row[1], row[2], row[3], row[4]))
            if fate == STEPPED and clocks.overall >= route.check_at:
                raised += route.stepped(clocks)
            if raised and self.ranges[k][i]:
                for alert in raised:
                    self.incidents.append(((place, INCIDENT, 0, self.seq), alert))
                    self.seq += 1
        if fate != FAILED and timed and received >= self.check_idle_at:
            self.check_idle_at = received + IDLE_CHECK_EVERY
            now_idle = clocks.refresh(received)
            self.looks.append((place, received, clocks.overall))
            for q in now_idle:
                if isinstance(q, int):
                    self.idle.add(q)

    def plan(self) -> Plan:
        """Every partition finished: the end, the incidents it decides, what was found."""
        if not all(self.done) or self.heads:
            raise ValueError("the walk is not finished: a partition has not sent its last records")
        clocks = self.clocks
        end = clocks.overall
        if end != max(self.finals.values(), default=NEVER):
            raise ValueError("the partitions' clocks do not add up")
        ranks: dict[int, int] = {}
        for q in clocks.partitions():
            if isinstance(q, int):
                ranks[q] = len(ranks)
        for alert in self.route.finish(clocks):
            self.incidents.append(((END, INCIDENT, 0, self.seq), alert))
            self.seq += 1
        places = {self.parts[k]: array("q", self.places[k]) for k in range(len(self.parts))}
        return Plan(self.order, places, self.looks, self.idle, end, ranks, self.incidents, self.route)
