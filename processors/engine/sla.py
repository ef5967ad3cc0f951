"""An index of ticket due times, so the stream clock finds breaches in O(log n).

The index is a hint, not the truth: entries are never removed when a ticket is resolved
or its due time changes (lazy deletion). When the clock passes an entry, the caller runs
:meth:`Engine.check_sla` on that customer's state, which decides from the state alone.
"""

from heapq import heappop, heappush

__all__ = ["SlaIndex"]


class SlaIndex:
    """A min-heap of ``(due_at, customer_id, ticket_id)``."""

    __slots__ = ("heap",)

    def __init__(self) -> None:
        self.heap: list[tuple[float, str, str]] = []  # heapq order; read-only for callers

    def push(self, due_at: float, customer_id: str, ticket_id: str) -> None:
        """Remember that ``ticket_id`` of ``customer_id`` falls due at ``due_at``."""
        heappush(self.heap, (due_at, customer_id, ticket_id))

    def next_due(self) -> float | None:
        """The earliest due time in the index, or ``None`` when it is empty."""
        return self.heap[0][0] if self.heap else None

    def pop_due(self, clock: float) -> list[str]:
        """Remove every entry due before ``clock``; return their customers, each once, in due order."""
        heap = self.heap
        customers: dict[str, None] = {}
        while heap and heap[0][0] < clock:
            customers[heappop(heap)[1]] = None
        return list(customers)

    def __len__(self) -> int:
        return len(self.heap)
