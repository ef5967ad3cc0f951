"""The worker's stream clocks and SLA index: one clock per partition of ``cx.events``.

Each partition's clock is the largest ``occurred_at`` this worker has read from it (event
time); a customer's tickets breach when the clock of the customer's partition passes
their due time, so a partition read ahead of another (a backlog, a fast backfill) never
breaches a ticket whose on-time resolution is still unread on a slower one. A partition
with no record for ``engine.partition_idle_seconds`` of wall time is idle and follows the
overall clock (the largest ``occurred_at`` of every partition), so a quiet partition's
tickets still breach. The rules are the engine's (:class:`PartitionClocks`, driven by the
orchestration core the replay uses too); this class is the worker's clock source (wall
time for idleness, epoch time to bound the clocks rebuilt from stored states) and makes
the marks sent to the incident agent. Rebuilt from the table after partitions are
assigned and recovered.
"""

import time
from collections.abc import Callable, Iterable

from cxpulse.processors.engine import CustomerState, EngineSettings, PartitionClocks

__all__ = ["SlaClock"]


class SlaClock:
    """Partition clocks + SLA index, with ``wall`` (monotonic seconds) deciding idleness."""

    def __init__(self, idle_seconds: float = 30.0, wall: Callable[[], float] = time.monotonic,
                 epoch: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self.epoch = epoch
        self.clocks = PartitionClocks(idle_seconds)
        self._sent: dict | None = None
        self.reported_idle = 0  # idle partitions in the last marks taken

    def configure(self, settings: EngineSettings) -> None:
        """Take the engine's stream clock lead and SLA grace (docs/rules.md, "The stream clock")."""
        self.clocks.lead = settings.stream_clock_lead_seconds
        self.clocks.grace = settings.sla_grace_seconds

    @property
    def now(self) -> float:
        """The overall clock: the largest ``occurred_at`` read from any partition."""
        return self.clocks.overall

    def hear(self, partition: int, now: float) -> None:
        """A valid record of ``partition`` was read at wall time ``now``."""
        self.clocks.hear(partition, now)

    def observe(self, partition: int, moment: float, record_time: float | None = None) -> None:
        """Move ``partition``'s clock forward to ``moment`` (event time; no further than
        ``record_time`` plus the lead when given); it never goes back."""
        self.clocks.observe(partition, moment, record_time)

    def note_due(self, due_at: float, customer_id: str, ticket_id: str, partition: int) -> None:
        """Remember that ``ticket_id`` of ``customer_id`` (on ``partition``) falls due at ``due_at``."""
        self.clocks.note_due(partition, due_at, customer_id, ticket_id)

    def due(self, partition: int) -> bool:
        """Whether a ticket on ``partition`` may be due before the partition's clock."""
        return self.clocks.due(partition)

    def pop_due(self, partition: int) -> tuple[float, list[str]]:
        """``(clock, customers)`` of ``partition`` with an entry due before its clock; entries removed."""
        return self.clocks.pop_due(partition)

    def refresh(self) -> list[int]:
        """Mark partitions silent for the idle period idle (wall time); returns every partition."""
        self.clocks.refresh(self.wall())
        return [int(partition) for partition in self.clocks.partitions()]  # type: ignore[call-overload]

    @property
    def overall(self) -> float:
        """The overall clock, sent with the marks: the watermark when every partition is idle."""
        return self.clocks.overall

    def marks(self) -> dict[int, float] | None:
        """Each partition's clock for the incident watermark (``INF`` when idle), when it
        changed since the last call; ``None`` when nothing changed."""
        effective = {int(p): c for p, c in self.clocks.effective().items()}  # type: ignore[call-overload]
        self.reported_idle = sum(1 for c in effective.values() if c == float("inf"))
        if effective == self._sent:
            return None
        self._sent = effective
        return effective

    def rebuild(self, states: Iterable[tuple[CustomerState, int]], owned: Iterable[int] = ()) -> int:
        """Start over from the table's states (after recovery); returns the tickets indexed.

        Every owned partition counts as heard of now: it goes idle only after the idle period.
        A stored state's latest time moves its partition's clock no further than now (epoch
        time) plus the lead: a future-dated event does not come back as the clock after a restart.
        """
        self.clocks.clear()  # in place: the scoring core holds these clocks
        self._sent = None
        now, cap = self.wall(), self.epoch()
        for partition in owned:
            self.clocks.add(partition, now)
        for state, partition in states:
            self.clocks.load(partition, state, now, cap)
        return len(self.clocks)

    def __len__(self) -> int:
        return len(self.clocks)

