"""The ``incident`` rule: many distinct customers contacting one service type at once.

State is per service type (the worker keys it by service type after a repartition).
It keeps the latest contact of the most recently active customers — at most
``2 × incident_customers`` of them — which is exactly enough to decide whether the
window ending at the newest contact holds ``incident_customers`` distinct customers.
The alert id is derived from the service type and the event-time bucket (width: the
incident cooldown) of the moment the threshold was met, so a live run and a replay that
see the contacts in a slightly different order still agree.
"""

from bisect import bisect_left, insort
from datetime import datetime, timezone
from math import floor
from typing import Any

import orjson

from cxpulse.schemas import Alert

from .alerting import alert_id, build_alert
from .compiled import Compiled
from .results import Contact
from .settings import EngineSettings
from .state import NEVER, STATE_VERSION, StateError

__all__ = ["IncidentEngine", "IncidentState"]


class IncidentState:
    """Recent contacts of one service type: ``latest[customer] = (t, event_id)``."""

    __slots__ = ("service_type", "latest", "order", "last_fire")

    def __init__(self, service_type: str) -> None:
        self.service_type = service_type
        self.latest: dict[str, tuple[float, str]] = {}
        self.order: list[tuple[float, str]] = []  # (t, customer_id), sorted
        self.last_fire = NEVER  # moment (event time) the last incident alert was raised for

    def to_bytes(self) -> bytes:
        """Compact, versioned JSON; :meth:`from_bytes` restores an identical state."""
        rows = [[t, cid, self.latest[cid][1]] for t, cid in self.order]
        return orjson.dumps([STATE_VERSION, self.service_type, rows, self.last_fire])

    @classmethod
    def from_bytes(cls, data: bytes) -> "IncidentState":
        """Restore a state written by :meth:`to_bytes`; raises :class:`StateError`."""
        try:
            version, svc, rows, last_fire = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise StateError(f"incident state: cannot decode ({exc})") from None
        if version != STATE_VERSION:
            raise StateError(f"incident state: unsupported version {version!r}")
        state = cls(svc)
        for t, cid, eid in rows:
            state.latest[cid] = (t, eid)
            state.order.append((t, cid))
        state.last_fire = last_fire
        return state

    def _fields(self) -> tuple[Any, ...]:
        return self.service_type, self.latest, self.order, self.last_fire

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IncidentState) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"IncidentState({self.service_type!r}, customers={len(self.order)})"


class IncidentEngine:
    """Applies the ``incident`` rule to the inbound contacts of one service type at a time."""

    __slots__ = ("settings", "_c", "_keep")

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings if settings is not None else EngineSettings()
        self._c = Compiled(self.settings)
        self._keep = 2 * self._c.incident_customers

    def step(self, state: IncidentState | None, contact: Contact) -> tuple[IncidentState, list[Alert]]:
        """Add one inbound contact; return the state (updated in place) and any incident alert."""
        if state is None:
            state = IncidentState(contact.service_type)
        svc, cid, t, eid = contact
        latest, order = state.latest, state.order
        prev = latest.get(cid)
        if prev is not None:
            if prev[0] >= t:
                return state, []  # this customer is already counted at a later time
            del order[bisect_left(order, (prev[0], cid))]
        newest = order[-1][0] if order else NEVER
        latest[cid] = (t, eid)
        entry = (t, cid)
        if not order or entry > order[-1]:
            order.append(entry)
        else:
            insort(order, entry)
        if len(order) > self._keep:
            del latest[order.pop(0)[1]]
        c = self._c
        if t >= newest:  # the common case: the newest contact ends the window
            if len(order) < c.incident_customers:
                return state, []
            first = bisect_left(order, (t - c.incident_window,))
            count = len(order) - first
            if count < c.incident_customers:
                return state, []
            met = (t, count, first, len(order) - 1)
        else:
            met = self._threshold_met(state, t)
            if met is None:
                return state, []
        moment, count, first, last = met
        width = c.incident_cooldown or 1.0
        if abs(moment - state.last_fire) < c.incident_cooldown or moment // width == state.last_fire // width:
            return state, []  # one alert per cooldown, and never two ids alike
        state.last_fire = moment
        return state, [self._alert(state, moment, count, first, last)]

    def _threshold_met(self, state: IncidentState, t: float) -> tuple[float, int, int, int] | None:
        """A late contact: the first window containing ``t`` with enough customers,
        as ``(end, count, first index, last index)``."""
        c = self._c
        order, w, need = state.order, c.incident_window, c.incident_customers
        idx = bisect_left(order, (t,))
        while idx < len(order) and order[idx][0] <= t + w:
            end = order[idx][0]
            first = bisect_left(order, (end - w,))
            if idx - first + 1 >= need:
                return end, idx - first + 1, first, idx
            idx += 1
        return None

    def _alert(self, state: IncidentState, moment: float, count: int, first: int, last: int) -> Alert:
        c = self._c
        svc = state.service_type
        width = c.incident_cooldown or 1.0
        bucket = floor(moment / width)
        evidence = [state.latest[cid][1] for _, cid in state.order[first:last + 1]]
        return build_alert({
            "alert_id": alert_id("incident", None, svc, f"bucket:{bucket}:{width:g}"),
            "rule": "incident", "severity": "critical", "status": "firing", "customer_id": None,
            "service_type": svc, "segment": None, "score": None, "risk_band": None,
            "triggered_at": datetime.fromtimestamp(moment, timezone.utc), "emitted_at": None,
            "summary": f"{count} customers contacted {svc} within {c.incident_span}",
            "evidence": evidence[-c.evidence_limit:],
        })
