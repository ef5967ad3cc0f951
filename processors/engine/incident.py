"""The ``incident`` rule: many distinct customers contacting one service type at once.

An incident is a property of the *set* of contacts, not of the order they arrive in: for
a service type, it is raised at the earliest moment ``m`` (a contact's time) at which the
window ``[m - incident_window, m]`` holds ``incident_customers`` distinct customers, then
again at the earliest such moment at least ``incident_cooldown`` later, and so on. Its
evidence is the first ``incident_customers`` distinct customers of that window by
``(occurred_at, event_id)``, each by its first contact in the window.

Contacts arrive out of order (partitions read at different speeds, two workers, a
repartition topic), so a moment is *decided* only once the stream's watermark (the
smallest partition clock, see :mod:`.clocks`) has passed it by
``incident_late_tolerance_seconds``: every contact that is not later than that relative
to its own partition has been counted by then. Live (two agents and the repartition
topic) and replay therefore raise the same incidents — id, ``triggered_at``, evidence.

State is per service type (the worker keys it by service type after a repartition): the
contacts of undecided windows, at most ``incident_max_contacts`` (beyond that, the oldest
moments are decided early, in arrival order).
"""

from bisect import bisect_left, insort
from collections import Counter
from datetime import datetime, timezone
from math import floor, inf, nextafter
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
    """Undecided contacts of one service type, ``(occurred_at, event_id, customer_id)`` sorted.

    ``done``: moments before it are decided. ``last_fire``: the moment of the last alert.
    """

    __slots__ = ("service_type", "contacts", "done", "last_fire")

    def __init__(self, service_type: str) -> None:
        self.service_type = service_type
        self.contacts: list[tuple[float, str, str]] = []
        self.done = NEVER
        self.last_fire = NEVER

    def next_moment(self) -> float:
        """The earliest undecided contact time (``inf`` when there is none)."""
        contacts = self.contacts
        if not contacts or contacts[-1][0] < self.done:
            return inf
        return contacts[bisect_left(contacts, (self.done,))][0]

    def to_bytes(self) -> bytes:
        """Compact, versioned JSON; :meth:`from_bytes` restores an identical state."""
        return orjson.dumps([STATE_VERSION, self.service_type, self.contacts, self.done, self.last_fire])

    @classmethod
    def from_bytes(cls, data: bytes) -> "IncidentState":
        """Restore a state written by :meth:`to_bytes`; raises :class:`StateError`."""
        try:
            version, svc, rows, done, last_fire = orjson.loads(data)
            state = cls(svc)
            state.contacts = [(float(t), eid, cid) for t, eid, cid in rows]
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise StateError(f"incident state: cannot decode ({exc})") from None
        if version != STATE_VERSION:
            raise StateError(f"incident state: unsupported version {version!r}")
        state.done, state.last_fire = done, last_fire
        return state

    def _fields(self) -> tuple[Any, ...]:
        return self.service_type, self.contacts, self.done, self.last_fire

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IncidentState) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"IncidentState({self.service_type!r}, contacts={len(self.contacts)}, done={self.done})"


class IncidentEngine:
    """Applies the ``incident`` rule to the inbound contacts of one service type at a time."""

    __slots__ = ("settings", "_c", "_late", "_cap")

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings if settings is not None else EngineSettings()
        self._c = Compiled(self.settings)
        self._late = float(self.settings.incident_late_tolerance_seconds)
        self._cap = self.settings.incident_max_contacts

    def add(self, state: IncidentState | None, contact: Contact) -> tuple[IncidentState, list[Alert]]:
        """Remember one inbound contact; returns the state (updated in place) and the alerts
        of moments decided early because the state reached ``incident_max_contacts``."""
        if state is None:
            state = IncidentState(contact.service_type)
        svc, cid, t, eid = contact
        if t < self._forgotten(state):
            return state, []  # every window it could be in is decided
        entry = (t, eid, cid)
        contacts = state.contacts
        if not contacts or entry > contacts[-1]:
            contacts.append(entry)
        else:
            at = bisect_left(contacts, entry)
            if at < len(contacts) and contacts[at] == entry:
                return state, []  # the same contact again
            insort(contacts, entry)
        if len(contacts) <= self._cap:
            return state, []
        # Too many undecided contacts: decide the oldest moments now (arrival order decides),
        # and if one busy window still holds too many, forget its oldest contacts.
        alerts = self.advance(state, contacts[len(contacts) - self._cap][0] + self._late)
        if len(contacts) > self._cap:
            del contacts[:len(contacts) - self._cap]
        return state, alerts

    def advance(self, state: IncidentState, watermark: float) -> list[Alert]:
        """Decide every moment before ``watermark - incident_late_tolerance``; returns the alerts."""
        upto = watermark - self._late
        contacts = state.contacts
        if not contacts or upto <= state.done:
            return []
        alerts = self._decide(state, upto) if self._may_fire(state, upto) else []
        if upto == inf:  # the end of the stream: decided up to the newest contact, later ones still count
            upto = nextafter(contacts[-1][0], inf) if contacts else state.done
        state.done = max(state.done, upto)
        self._trim(state)
        return alerts

    def _forgotten(self, state: IncidentState) -> float:
        """Contacts before this time cannot be in any undecided window."""
        c = self._c
        return max(state.done - c.incident_window, state.last_fire + c.incident_cooldown - c.incident_window)

    def _trim(self, state: IncidentState) -> None:
        keep_from = self._forgotten(state)
        contacts = state.contacts
        if contacts and contacts[0][0] < keep_from:
            del contacts[:bisect_left(contacts, (keep_from,))]

    def _may_fire(self, state: IncidentState, upto: float) -> bool:
        """A cheap bound: could a window ending at an undecided moment before ``upto`` hold
        enough customers? (Counting contacts, not customers, over-counts: never misses.)"""
        c = self._c
        contacts, window, need = state.contacts, c.incident_window, c.incident_customers
        first = bisect_left(contacts, (state.done - window,))
        end = bisect_left(contacts, (upto,))
        if end - first < need:
            return False
        lo = first
        for hi in range(max(bisect_left(contacts, (state.done,)), first + need - 1), end):
            start = contacts[hi][0] - window
            while contacts[lo][0] < start:
                lo += 1
            if hi - lo + 1 >= need:
                return True
        return False

    def _decide(self, state: IncidentState, upto: float) -> list[Alert]:
        """Walk the undecided moments before ``upto`` in time order with a sliding window."""
        c = self._c
        contacts, window, need = state.contacts, c.incident_window, c.incident_customers
        width = c.incident_cooldown or 1.0
        alerts: list[Alert] = []
        n = len(contacts)
        i = bisect_left(contacts, (state.done,))
        lo = bisect_left(contacts, (contacts[i][0] - window,)) if i < n else n
        present: Counter[str] = Counter(cid for _, _, cid in contacts[lo:i])
        while i < n and contacts[i][0] < upto:
            moment = contacts[i][0]
            while i < n and contacts[i][0] == moment:  # every contact at this moment is in its window
                present[contacts[i][2]] += 1
                i += 1
            start = moment - window
            while contacts[lo][0] < start:
                cid = contacts[lo][2]
                present[cid] -= 1
                if not present[cid]:
                    del present[cid]
                lo += 1
            if len(present) < need:
                continue
            if moment - state.last_fire < c.incident_cooldown or moment // width == state.last_fire // width:
                continue  # one alert per cooldown, and never two ids alike
            state.last_fire = moment
            alerts.append(self._alert(state.service_type, moment, len(present), contacts[lo:i]))
        return alerts

    def _alert(self, svc: str, moment: float, count: int, window: list[tuple[float, str, str]]) -> Alert:
        c = self._c
        width = c.incident_cooldown or 1.0
        evidence: list[str] = []
        counted: set[str] = set()
        for _, eid, cid in window:  # the first distinct customers by (occurred_at, event_id)
            if cid not in counted:
                counted.add(cid)
                evidence.append(eid)
                if len(evidence) == c.incident_customers:
                    break
        return build_alert({
            "alert_id": alert_id("incident", None, svc, f"bucket:{floor(moment / width)}:{width:g}"),
            "rule": "incident", "severity": "critical", "status": "firing", "customer_id": None,
            "service_type": svc, "segment": None, "score": None, "risk_band": None,
            "triggered_at": datetime.fromtimestamp(moment, timezone.utc), "emitted_at": None,
            "summary": f"{count} customers contacted {svc} within {c.incident_span}",
            "evidence": evidence[:c.evidence_limit],
        })
