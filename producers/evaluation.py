"""How well alerts match the simulator's ground truth: precision and recall per customer.

Precision = alerted struggling customers ÷ alerted customers; recall = alerted struggling
customers ÷ struggling customers (only those whose pattern was emitted completely: a run
stopped early by --count or --duration leaves some patterns unfinished). ``incident``
alerts have no customer and are judged separately: did the outage's service type get one?
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertQuality", "alert_quality"]


@dataclass(frozen=True)
class AlertQuality:
    """The comparison of one run's alerts with its ground truth."""

    struggling: frozenset[str]
    complete: frozenset[str]
    alerted: frozenset[str]
    outage_service_type: str | None
    incident_service_types: frozenset[str | None]
    rules: Counter = field(default_factory=Counter)

    @property
    def true_positives(self) -> frozenset[str]:
        return self.alerted & self.struggling

    @property
    def false_positives(self) -> frozenset[str]:
        return self.alerted - self.struggling

    @property
    def missed(self) -> frozenset[str]:
        return self.complete - self.alerted

    @property
    def precision(self) -> float | None:
        return len(self.true_positives) / len(self.alerted) if self.alerted else None

    @property
    def recall(self) -> float | None:
        found = self.alerted & self.complete
        return len(found) / len(self.complete) if self.complete else None

    @property
    def outage_detected(self) -> bool | None:
        if self.outage_service_type is None:
            return None
        return self.outage_service_type in self.incident_service_types


def alert_quality(truth: dict[str, Any], alerts: Iterable[dict[str, Any]]) -> AlertQuality:
    """Compare firing alerts (dicts as read from ``cx.alerts``) with a ground-truth document."""
    customers = truth.get("struggling", [])
    struggling = frozenset(customer["customer_id"] for customer in customers)
    complete = frozenset(
        customer["customer_id"]
        for customer in customers
        if all(pattern.get("complete", True) for pattern in customer.get("patterns", []))
    )
    alerted: set[str] = set()
    incidents: set[str | None] = set()  # service types (None: an incident alert without one)
    rules: Counter = Counter()
    for alert in alerts:
        if alert.get("status", "firing") != "firing":
            continue
        rules[alert.get("rule")] += 1
        if alert.get("rule") == "incident":
            incidents.add(alert.get("service_type"))
        elif alert.get("customer_id"):
            alerted.add(alert["customer_id"])
    outage = truth.get("outage") or {}
    return AlertQuality(
        struggling=struggling,
        complete=complete,
        alerted=frozenset(alerted),
        outage_service_type=outage.get("service_type"),
        incident_service_types=frozenset(incidents),
        rules=rules,
    )
