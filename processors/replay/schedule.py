"""What the groups of a parallel replay read, and the one-process run rebuilt from it (:func:`plan`).

Each group of partitions (:mod:`.parallel`) sends a :class:`Timeline`: for every record of
its partitions, the record time, its fate (not an event, stepped, a duplicate, failed),
whether it is in the range, its partition's clock after it, and the contacts it routed.
:func:`plan` merges the timelines into the one-process order (:func:`.ranges.merge_partitions`:
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
           "Schedule", "Timeline", "final_clock", "plan"]

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


def _merged(parts: list[int], stamps: list[list[int]]) -> list[tuple[int, int]]:
    """``(slot, index)`` of every record in :func:`.ranges.merge_partitions`'s order."""
    ascending = True
    for values in stamps:
        for j in range(1, len(values)):
            if values[j - 1] > values[j]:
                ascending = False
                break
    if ascending:  # the usual archive: the merge is a sort, of timestamp * slots + slot (ints sort fast)
        slots = len(parts)
        keys = [s * slots + k for k in range(slots) for s in stamps[k]]
        keys.sort()
        taken = [0] * slots
        merged: list[tuple[int, int]] = []
        for key in keys:
            k = key % slots
            merged.append((k, taken[k]))  # a partition's records come in index order (ties too: a stable sort)
            taken[k] += 1
        return merged
    streams = [[((s, parts[k]), k, i) for i, s in enumerate(stamps[k])] for k in range(len(parts))]
    return [(k, i) for _, k, i in heapq.merge(*streams)]


def plan(settings: EngineSettings, timelines: list[Timeline]) -> Plan:
    """The one-process run's order, looks at idle partitions and incidents, from the groups' timelines."""
    parts: list[int] = sorted(p for t in timelines for p in t.stamps)
    stamps: list[list[int]] = []
    fates: list[list[int]] = []
    after: list[list[float]] = []
    ranges: list[list[int]] = []
    firsts: list[int] = []
    contacts: list[list[ContactRow]] = []
    for p in parts:
        t = next(t for t in timelines if p in t.stamps)
        stamps.append(list(t.stamps[p]))
        fates.append(list(t.fates[p]))
        after.append(list(t.clocks[p]))
        ranges.append(list(t.in_range[p]))
        firsts.append(t.first.get(p, END))
        contacts.append(t.contacts.get(p, []))
    order = _merged(parts, stamps)
    place_lists = [[0] * len(s) for s in stamps]
    for place, (k, i) in enumerate(order):
        place_lists[k][i] = place
    clocks: PartitionClocks = clocks_for(settings)
    route = InlineIncidents(IncidentEngine(settings))
    looks: list[tuple[int, float, float]] = []
    idle: set[int] = set()
    incidents: list[tuple[tuple[int, int, int, int], Alert]] = []
    check_idle_at = NEVER
    seq = 0
    nexts = [0] * len(parts)  # each partition's next contact row
    for place, (k, i) in enumerate(order):
        fate = fates[k][i]
        if fate == NOT_FED:
            continue
        p = parts[k]
        ts = stamps[k][i]
        timed = ts >= 0
        received = ts / 1000.0
        if timed:
            clocks.hear(p, received)
        if fate != DUPLICATE:
            if i >= firsts[k]:
                clocks.observe(p, after[k][i])
            raised: list[Alert] = []
            rows = contacts[k]
            n = nexts[k]
            if n < len(rows) and rows[n][0] == i:
                row = rows[n]
                nexts[k] = n + 1
                raised += route.contact(Contact(row[1], row[2], row[3], row[4]))
            if fate == STEPPED and clocks.overall >= route.check_at:
                raised += route.stepped(clocks)
            if raised and ranges[k][i]:
                for alert in raised:
                    incidents.append(((place, INCIDENT, 0, seq), alert))
                    seq += 1
        if fate != FAILED and timed and received >= check_idle_at:
            check_idle_at = received + IDLE_CHECK_EVERY
            now_idle = clocks.refresh(received)
            looks.append((place, received, clocks.overall))
            for q in now_idle:
                if isinstance(q, int):
                    idle.add(q)
    end = clocks.overall
    ranks: dict[int, int] = {}
    for q in clocks.partitions():
        if isinstance(q, int):
            ranks[q] = len(ranks)
    for alert in route.finish(clocks):
        incidents.append(((END, INCIDENT, 0, seq), alert))
        seq += 1
    places = {parts[k]: array("q", place_lists[k]) for k in range(len(parts))}
    return Plan([(parts[k], i) for k, i in order], places, looks, idle, end, ranks, incidents, route)
