"""Per-partition stream clocks: when tickets breach and how far incidents can be decided.

One customer's events are ordered within its Kafka partition, but partitions are read at
different speeds (a backlog, a fast backfill). A single clock over every partition runs
ahead of a lagging partition and breaches tickets whose on-time resolution has not been
read yet. So each partition has its own clock — the largest ``occurred_at`` read from it —
and a customer's tickets are checked against the clock of the customer's partition.

A partition with no record for ``idle_after`` (wall time in the worker, record time in a
replay: the caller passes "now") is *idle*: nothing of it is waiting to be read, so its
tickets are checked against the overall clock (the largest ``occurred_at`` of every
partition), and it no longer holds back the *watermark* — the smallest clock of the
partitions that are not idle, up to which every partition has been read. The incident
rule decides a window only once the watermark has passed it.

One outlier does not move a clock (docs/rules.md, "The stream clock"): when the caller
knows when a record was written (its Kafka timestamp), the partition's clock moves only
to ``min(occurred_at, record time + lead)``, so an event dated hours ahead of the moment
it was produced cannot breach other customers' tickets. Tickets breach only once the
clock has passed their due time by ``grace`` seconds, so a ticket read behind a skewed
clock has time to be resolved before it is declared breached.

The watermark is never infinite: with every partition idle it is the overall clock.
An infinite watermark would decide every incident window up to any future contact.

Pure: no wall clock is read here. Partitions are ``int`` (Kafka) or ``None`` (a stream
with no partitions, e.g. a test feeding events one by one).
"""

from collections.abc import Hashable, Iterable

from .sla import SlaIndex
from .state import NEVER, CustomerState

__all__ = ["INF", "PartitionClocks", "watermark_of"]

INF = float("inf")


def watermark_of(clocks: Iterable[float], overall: float) -> float:
    """The smallest of ``clocks`` (those of the partitions that are not idle; ``INF`` stands
    for an idle one); ``overall`` when there is none: never infinite, never NaN."""
    mark = INF
    for clock in clocks:
        if clock < mark:
            mark = clock
    if mark == INF:
        mark = overall
    return mark if mark < INF else NEVER


class PartitionClocks:
    """Clocks, SLA due-time indexes and idleness of the partitions of one stream reader."""

    __slots__ = ("clocks", "heard", "indexes", "overall", "idle_after", "idle", "lead", "grace", "_watermark")

    def __init__(self, idle_after: float = INF, *, lead: float = 0.0, grace: float = 0.0) -> None:
        self.idle_after = idle_after
        self.lead = lead  # how far a clock may run ahead of the record time that moved it
        self.grace = grace  # how long past its due time a ticket waits before it breaches
        self.clear()

    def clear(self) -> None:
        """Forget every partition, clock and due time (a rebuild starts from here)."""
        self.clocks: dict[Hashable, float] = {}  # partition -> largest occurred_at read from it
        self.heard: dict[Hashable, float] = {}  # partition -> when a record of it was last read
        self.indexes: dict[Hashable, SlaIndex] = {}  # partition -> due times of its customers
        self.overall = NEVER
        self.idle: set[Hashable] = set()
        self._watermark: float | None = None  # cached; None = recompute

    def add(self, partition: Hashable, now: float | None = None) -> None:
        """Know ``partition`` (e.g. assigned to this worker) before any record of it is read."""
        if partition not in self.clocks:
            self.clocks[partition] = NEVER
            self.indexes[partition] = SlaIndex()
            self._watermark = None
        if now is not None and partition not in self.heard:
            self.heard[partition] = now

    def hear(self, partition: Hashable, now: float) -> None:
        """A record of ``partition`` was read at ``now``: the partition is not idle."""
        self.heard[partition] = now
        if partition in self.idle:
            self.idle.discard(partition)
            self._watermark = None

    def observe(self, partition: Hashable, occurred_at: float, record_time: float | None = None) -> float:
        """Move the partition's clock to ``occurred_at`` (never back) — to ``record_time + lead``
        at most when the record's time is known; returns the partition's clock."""
        if record_time is not None and occurred_at > record_time + self.lead:
            occurred_at = record_time + self.lead
        if occurred_at != occurred_at or occurred_at == INF:
            return self.clocks.get(partition, NEVER)  # not a time: never a clock
        clock = self.clocks.get(partition)
        if clock is None:
            self.add(partition)
            clock = NEVER
        if occurred_at > clock:
            if self._watermark is not None and clock <= self._watermark:
                self._watermark = None  # this partition may have been holding the watermark back
            self.clocks[partition] = clock = occurred_at
            if occurred_at > self.overall:
                self.overall = occurred_at
        return clock

    def note_due(self, partition: Hashable, due_at: float, customer_id: str, ticket_id: str) -> None:
        """Remember that a ticket of ``customer_id`` (on ``partition``) falls due at ``due_at``."""
        index = self.indexes.get(partition)
        if index is None:
            self.add(partition)
            index = self.indexes[partition]
        index.push(due_at, customer_id, ticket_id)

    def load(self, partition: Hashable, state: CustomerState, now: float | None = None,
             record_time: float | None = None) -> None:
        """Take a saved customer ``state`` on ``partition`` into account (after a restart or
        recovery): the partition's clock reaches the state's latest time (no further than
        ``record_time + lead`` when given), its due tickets are indexed."""
        self.add(partition, now)
        self.observe(partition, state.ref, record_time)
        customer_id = state.customer_id
        for due_at, ticket_id in state.due_tickets():
            self.note_due(partition, due_at, customer_id, ticket_id)

    def clock_of(self, partition: Hashable) -> float:
        """The clock ``partition`` is at: its own, or the overall one when idle."""
        if partition in self.idle:
            return self.overall
        return self.clocks.get(partition, NEVER)

    def sla_clock(self, partition: Hashable) -> float:
        """The clock ``partition``'s tickets are checked against: :meth:`clock_of` less the grace."""
        return self.clock_of(partition) - self.grace

    def due(self, partition: Hashable) -> bool:
        """Whether a ticket on ``partition`` may be due before the partition's SLA clock (cheap)."""
        index = self.indexes.get(partition)
        if index is None or not index.heap:
            return False
        # sla_clock, inlined: this runs once per event
        clock = self.overall if partition in self.idle else self.clocks.get(partition, NEVER)
        return index.heap[0][0] < clock - self.grace

    def pop_due(self, partition: Hashable) -> tuple[float, list[str]]:
        """``(clock, customers)``: customers on ``partition`` with an entry due before its SLA clock."""
        clock = self.sla_clock(partition)
        index = self.indexes.get(partition)
        if index is None or not index.heap or index.heap[0][0] >= clock:
            return clock, []
        return clock, index.pop_due(clock)

    def refresh(self, now: float) -> list[Hashable]:
        """Mark partitions not heard of for ``idle_after`` before ``now`` idle; returns every idle partition."""
        limit = now - self.idle_after
        for partition, heard in self.heard.items():
            if heard <= limit and partition not in self.idle:
                self.idle.add(partition)
                self._watermark = None
        return [p for p in self.clocks if p in self.idle]

    def watermark(self) -> float:
        """The smallest clock of the partitions that are not idle (the overall clock when every
        one is idle): never infinite."""
        mark = self._watermark
        if mark is None:
            idle = self.idle
            mark = watermark_of((c for p, c in self.clocks.items() if p not in idle), self.overall)
            self._watermark = mark
        return mark

    def effective(self) -> dict[Hashable, float]:
        """Each partition's clock for the watermark: ``INF`` for an idle one."""
        idle = self.idle
        return {p: INF if p in idle else c for p, c in self.clocks.items()}

    def partitions(self) -> Iterable[Hashable]:
        return self.clocks.keys()

    def __len__(self) -> int:
        return sum(len(index) for index in self.indexes.values())
