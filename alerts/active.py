"""The alerts the router delivered that are still active, to re-send and to resolve.

Alertmanager keeps alerts in memory only and expects its clients to re-send active ones
(Prometheus does so every minute): after an Alertmanager restart the router's next
re-send brings them back. The same record gives a ``resolved`` alert the exact labels
its ``firing`` alert had, so it ends that alert even if, say, the customer's segment
changed in between. Bounded: beyond ``limit`` the oldest are forgotten (they still
expire at their own ``endsAt``).
"""

from collections import OrderedDict
from typing import Any

__all__ = ["ActiveAlerts"]


class ActiveAlerts:
    """alert_id -> (Alertmanager payload, endsAt as epoch seconds)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._alerts: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._alerts)

    def labels_of(self, alert_id: str) -> dict[str, str] | None:
        """The labels the alert was delivered with, when the router still knows it."""
        known = self._alerts.get(alert_id)
        return None if known is None else known[0]["labels"]

    def delivered(self, alert_id: str, payload: dict[str, Any], ends: float, resolved: bool) -> None:
        """Alertmanager accepted ``payload``: remember a firing alert, forget a resolved one."""
        if resolved:
            self._alerts.pop(alert_id, None)
            return
        if self.limit <= 0:
            return
        self._alerts[alert_id] = (payload, ends)
        self._alerts.move_to_end(alert_id)
        while len(self._alerts) > self.limit:
            self._alerts.popitem(last=False)

    def items(self) -> list[tuple[str, dict[str, Any], float]]:
        """``(alert_id, payload, endsAt)`` of every alert remembered, oldest delivery first."""
        return [(alert_id, payload, ends) for alert_id, (payload, ends) in self._alerts.items()]

    def due(self, now: float) -> list[dict[str, Any]]:
        """Payloads still active at ``now``; expired ones are dropped."""
        expired = [alert_id for alert_id, (_, ends) in self._alerts.items() if ends <= now]
        for alert_id in expired:
            del self._alerts[alert_id]
        return [payload for payload, _ in self._alerts.values()]
