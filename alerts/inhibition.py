"""Which repeat contacts an incident explains: the ``incident`` label that Alertmanager's inhibit rule compares.

An outage incident explains the repeat contacts on its service type *since it began*, not
the ones from before it (those customers were struggling anyway, and still need someone).
An Alertmanager inhibit rule cannot compare times, only label values (``equal``), so the
router writes the comparison into labels: every incident alert carries
``incident="<its alert_id>"``, and a ``repeat_contact`` alert whose ``triggered_at`` is at
or after the start of an incident's window (its ``triggered_at`` minus
``[engine] incident_window_seconds``) on the same service type carries the same value.
``deploy/alertmanager/alertmanager.yml`` then inhibits with
``equal: [service_type, incident]``; a repeat contact from before has no ``incident``
label and stays active.

The incident is decided behind the watermark, so it usually reaches the router *after*
the repeat contacts of its first minutes (and it is keyed by service type, they by
customer: other partitions). :meth:`IncidentIndex.moves` finds the repeat contacts the
router already delivered that the new incident explains; the router re-posts each with
the label and ends its unlabelled copy, so Alertmanager holds one alert per repeat
contact, inhibited or not.
"""

from bisect import insort
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cxpulse.schemas import Alert

from .active import ActiveAlerts
from .payload import rfc3339

__all__ = ["INCIDENT_LABEL", "IncidentIndex", "Move"]

INCIDENT_LABEL = "incident"
_PER_SERVICE = 16  # incidents remembered per service type (one per cooldown: 16 h of incidents by default)
_SERVICES = 1024  # service types remembered, least recently used dropped


@dataclass(frozen=True)
class Move:
    """A delivered repeat contact that an incident explains: ``ended`` (its old labels, ends now)
    and ``labelled`` (with the ``incident`` label), posted together."""

    alert_id: str
    ended: dict[str, Any]
    labelled: dict[str, Any]
    ends: float  # the labelled payload's endsAt, epoch seconds


class IncidentIndex:
    """The incidents seen, by service type: ``(window start, incident alert_id)``, sorted."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._starts: OrderedDict[str, list[tuple[float, str]]] = OrderedDict()

    def note(self, service_type: str, alert_id: str, triggered_at: float) -> bool:
        """Remember an incident; ``True`` when it is new (an update of a known one is not)."""
        starts = self._starts.setdefault(service_type, [])
        self._starts.move_to_end(service_type)
        if any(known == alert_id for _, known in starts):
            return False
        insort(starts, (triggered_at - self.window, alert_id))
        del starts[:-_PER_SERVICE]
        while len(self._starts) > _SERVICES:
            self._starts.popitem(last=False)
        return True

    def note_alert(self, alert: Alert) -> bool:
        """:meth:`note` for an ``incident`` alert; anything else is ignored (``False``)."""
        if alert.rule != "incident":
            return False
        return self.note(alert.service_type, alert.alert_id, alert.triggered_at.timestamp())

    def incident_for(self, service_type: str, triggered_at: float) -> str | None:
        """The latest incident on ``service_type`` whose window began at or before ``triggered_at``."""
        found = None
        for start, alert_id in self._starts.get(service_type, ()):
            if start > triggered_at:
                break
            found = alert_id
        return found

    def labels(self, alert: Alert, labels: dict[str, str]) -> dict[str, str]:
        """``labels`` with the ``incident`` label this alert gets (a copy when one is added)."""
        if alert.rule == "incident":
            return {**labels, INCIDENT_LABEL: alert.alert_id}
        if alert.rule != "repeat_contact":
            return labels
        incident = self.incident_for(alert.service_type, alert.triggered_at.timestamp())
        return labels if incident is None else {**labels, INCIDENT_LABEL: incident}

    def moves(self, active: ActiveAlerts, service_type: str, now: datetime) -> list[Move]:
        """The delivered, still active repeat contacts on ``service_type`` whose label the
        incidents seen so far change."""
        moves = []
        for alert_id, payload, ends in active.items():
            labels = payload["labels"]
            if labels.get("alertname") != "repeat_contact" or labels.get("service_type") != service_type:
                continue
            triggered = _moment(payload["annotations"].get("triggered_at"))
            incident = None if triggered is None else self.incident_for(service_type, triggered)
            if incident is None or labels.get(INCIDENT_LABEL) == incident:
                continue
            ended = {**payload, "endsAt": rfc3339(now)}
            labelled = {**payload, "labels": {**labels, INCIDENT_LABEL: incident}}
            moves.append(Move(alert_id, ended, labelled, ends))
        return moves


def _moment(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
