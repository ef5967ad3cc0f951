"""The join: who left and when, from account events in the stream and/or an outcomes file.

Rules (docs/backtest.md, "The join"):

- an outcome of a customer the stream never shows a contact event of is dropped and
  counted (``unknown_customers``): nothing can have predicted it;
- an outcome earlier than the customer's first contact event is dropped and counted
  (``before_first_event``): the customer cannot have left before we ever saw it (a reused
  id, or a date in the wrong zone);
- the same outcome from both sources (customer, time and action) counts once;
- a customer with no outcome stayed;
- a customer is *active* at a moment when it was seen by then and its latest outcome
  before it is not a churn (none, or ``reactivated``).
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cxpulse.schemas.events import CHURN_ACTIONS

__all__ = ["JoinCounts", "OutcomeEvent", "OutcomeIndex"]


@dataclass(frozen=True, order=True)
class OutcomeEvent:
    """One outcome: ``at`` in epoch seconds; ``source`` is ``stream`` or ``file``."""

    customer_id: str
    at: float
    action: str
    reason: str | None = None
    source: str = "stream"

    @property
    def churn(self) -> bool:
        return self.action in CHURN_ACTIONS


@dataclass
class JoinCounts:
    """What the join kept and dropped."""

    stream: int = 0
    file: int = 0
    kept: int = 0
    duplicates: int = 0
    unknown_customers: int = 0
    before_first_event: int = 0
    customers_who_left: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class OutcomeIndex:
    """Outcomes by customer, in time order, after the rules above."""

    def __init__(self, outcomes: Iterable[OutcomeEvent], first_seen: Mapping[str, float]) -> None:
        self.first_seen = first_seen
        self.counts = JoinCounts()
        seen: set[tuple[str, float, str]] = set()
        by_customer: dict[str, list[tuple[float, bool]]] = {}
        for outcome in sorted(outcomes, key=lambda o: (o.customer_id, o.at, o.source != "stream")):
            setattr(self.counts, outcome.source, getattr(self.counts, outcome.source) + 1)
            identity = (outcome.customer_id, outcome.at, outcome.action)
            if identity in seen:
                self.counts.duplicates += 1
                continue
            seen.add(identity)
            first = first_seen.get(outcome.customer_id)
            if first is None:
                self.counts.unknown_customers += 1
                continue
            if outcome.at < first:
                self.counts.before_first_event += 1
                continue
            self.counts.kept += 1
            if outcome.churn and outcome.reason:
                self.counts.reasons[outcome.reason] = self.counts.reasons.get(outcome.reason, 0) + 1
            by_customer.setdefault(outcome.customer_id, []).append((outcome.at, outcome.churn))
        self._times = {cid: [at for at, _ in rows] for cid, rows in by_customer.items()}
        self._churn = {cid: [churn for _, churn in rows] for cid, rows in by_customer.items()}
        self.counts.customers_who_left = sum(any(flags) for flags in self._churn.values())

    def active_at(self, customer_id: str, moment: float) -> bool:
        """Seen by ``moment`` and not gone then."""
        first = self.first_seen.get(customer_id)
        if first is None or first > moment:
            return False
        times = self._times.get(customer_id)
        if not times:
            return True
        i = bisect_right(times, moment)
        return i == 0 or not self._churn[customer_id][i - 1]

    def churn_after(self, customer_id: str, moment: float, within: float) -> float | None:
        """The time of the first churn in ``(moment, moment + within]``, else ``None``."""
        times = self._times.get(customer_id)
        if not times:
            return None
        flags = self._churn[customer_id]
        for i in range(bisect_right(times, moment), len(times)):
            if times[i] > moment + within:
                return None
            if flags[i]:
                return times[i]
        return None

    def churns(self) -> list[tuple[str, float]]:
        """Every departure: a churn of a customer active just before it (``(customer_id, at)``)."""
        found = []
        for cid, times in self._times.items():
            active = True
            for at, churn in zip(times, self._churn[cid], strict=True):
                if churn and active:
                    found.append((cid, at))
                active = not churn
        return sorted(found, key=lambda item: (item[1], item[0]))
