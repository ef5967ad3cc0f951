"""What one engine step returns: plain ``__slots__`` objects, cheap to build per event."""

from typing import NamedTuple

from cxpulse.schemas import Alert

from .state import CustomerState

__all__ = ["Contact", "StepResult"]


class Contact(NamedTuple):
    """An inbound contact, routed by service type to the incident detector."""

    service_type: str
    customer_id: str
    occurred_at: float  # seconds since the epoch
    event_id: str


class StepResult(NamedTuple):
    """The outcome of :meth:`Engine.step` or :meth:`Engine.check_sla` for one customer.

    ``state`` is the customer's state (the object passed in, updated in place).
    ``alerts`` are the alerts raised (``emitted_at`` is ``None``: the writer stamps it).
    ``duplicate`` is true when the event id was seen before; then nothing changed.
    ``signals`` names the score signals applied, in order. ``band_before`` is ``None``
    for a new customer. ``score`` is the score after the step. ``contact`` is set for an
    inbound contact. ``due`` lists ``(due_at, ticket_id)`` of tickets whose due time this
    event set, for an SLA index. ``at`` is the event time (or the clock for ``check_sla``).

    A named tuple because one is built per event: the engine makes it with
    ``tuple.__new__`` (no Python-level constructor) and fields read through C getters.
    """

    state: CustomerState
    alerts: list[Alert]
    duplicate: bool
    signals: tuple[str, ...]
    band_before: str | None
    band_after: str
    score: float
    contact: Contact | None
    due: tuple[tuple[float, str], ...]
    at: float

    def __repr__(self) -> str:
        return (f"StepResult(duplicate={self.duplicate}, signals={self.signals}, "
                f"band {self.band_before}->{self.band_after}, score={self.score:.2f}, "
                f"alerts={[a.rule for a in self.alerts]})")
