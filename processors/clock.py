"""The worker's stream clock and SLA index.

The stream clock is the largest ``occurred_at`` this worker has seen (event time, never
the wall clock). Tickets with a due time go into the engine's :class:`SlaIndex`; when
the clock passes a due time, that customer is checked with ``Engine.check_sla``. The
index is rebuilt from the table after partitions are assigned and recovered.
"""

from collections.abc import Iterable

from cxpulse.processors.engine import CustomerState, SlaIndex
from cxpulse.processors.engine.state import NEVER

__all__ = ["SlaClock"]


class SlaClock:
    """Stream clock + SLA index + the partition each indexed customer lives on."""

    def __init__(self) -> None:
        self.now = NEVER
        self._index = SlaIndex()
        self._partitions: dict[str, int] = {}

    def advance(self, moment: float) -> None:
        """Move the clock forward to ``moment`` (event time); it never goes back."""
        if moment > self.now:
            self.now = moment

    def note_due(self, due_at: float, customer_id: str, ticket_id: str, partition: int) -> None:
        """Remember that ``ticket_id`` of ``customer_id`` (on ``partition``) falls due at ``due_at``."""
        self._index.push(due_at, customer_id, ticket_id)
        self._partitions[customer_id] = partition

    def pop_due(self) -> list[str]:
        """Customers with an entry due before the clock (each once); their entries are removed."""
        due = self._index.next_due()
        if due is None or due >= self.now:
            return []
        return self._index.pop_due(self.now)

    def partition_of(self, customer_id: str) -> int | None:
        """The partition a customer in the index lives on."""
        return self._partitions.get(customer_id)

    def rebuild(self, states: Iterable[tuple[CustomerState, int]]) -> int:
        """Start over from the table's states (after recovery); returns the tickets indexed."""
        self._index = SlaIndex()
        self._partitions = {}
        for state, partition in states:
            self.advance(state.ref)
            for due_at, ticket_id in state.due_tickets():
                self.note_due(due_at, state.customer_id, ticket_id, partition)
        return len(self._index)

    def __len__(self) -> int:
        return len(self._index)
