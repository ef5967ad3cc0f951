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

While an incident fires — from its moment ``m`` until its cooldown ends, when another
incident could fire — its count keeps being decided: at each later contact moment the
window's distinct customers are counted, and when the largest count so far (its *peak*)
grew, the alert is emitted again with the **same id**, ``triggered_at`` and evidence and
the peak in its summary, at most once per ``incident_update_seconds`` of event time, and a
last time once the cooldown's end is decided if the peak grew since. Which updates are
emitted depends only on the contacts' times, so a replay emits the same ones.

State is per service type (the worker keys it by service type after a repartition): the
contacts of undecided windows, at most ``incident_max_contacts`` (beyond that, the oldest
moments are decided early, in arrival order), and the firing incident's counts. Beside them,
derived and never written, the distinct customers of the last decided window are kept counted
from one decision to the next (issue 11), so a decision costs the contacts that entered and left
the window, not a recount of it; a decoded state recounts once.
"""

from bisect import bisect_left, insort
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

__all__ = ["Firing", "IncidentEngine", "IncidentState"]


class Firing:
    """The incident that fired last, while its count may still be updated.

    ``fired_with``: its count when it fired; ``peak``: the largest count decided since;
    ``reported``: the count of the last alert emitted for it; ``tick``: the next update time
    (the moments before it decide its count); ``evidence``: the firing's evidence (kept: its
    contacts are trimmed once decided).
    """

    __slots__ = ("evidence", "fired_with", "peak", "reported", "tick")

    def __init__(self, fired_with: int, peak: int, reported: int, tick: float, evidence: list[str]) -> None:
        self.fired_with, self.peak, self.reported, self.tick = fired_with, peak, reported, tick
        self.evidence = evidence

    def to_list(self) -> list[Any]:
        return [self.fired_with, self.peak, self.reported, self.tick, self.evidence]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Firing) and self.to_list() == other.to_list()


class IncidentState:
    """Undecided contacts of one service type, ``(occurred_at, event_id, customer_id)`` sorted.

    ``done``: moments before it are decided. ``last_fire``: the moment of the last alert.
    ``firing``: that alert's counts while it may still be updated (``None`` after its cooldown).

    Derived (not serialised, not compared): ``counts``, the number of contacts of each customer
    among ``contacts`` with ``since <= occurred_at < done``, where ``since`` is at most the
    window start of every undecided moment. :class:`IncidentEngine` keeps them so; they are valid
    only while ``counted`` is ``contacts`` (the same list) and ``counted_at`` is ``done``, and
    are recounted otherwise (a decoded state, a list or ``done`` assigned from outside).
    """

    __slots__ = ("service_type", "contacts", "done", "last_fire", "firing",
                 "counts", "since", "counted", "counted_at")

    def __init__(self, service_type: str) -> None:
        self.service_type = service_type
        self.contacts: list[tuple[float, str, str]] = []
        self.done = NEVER
        self.last_fire = NEVER
        self.firing: Firing | None = None
        self.counts: dict[str, int] = {}
        self.since = NEVER
        self.counted: list[tuple[float, str, str]] | None = None
        self.counted_at = NEVER

    def counts_valid(self) -> bool:
        """Are :attr:`counts` those of today's ``contacts`` and ``done``?"""
        return self.counted is self.contacts and self.counted_at == self.done

    def next_moment(self) -> float:
        """The earliest undecided contact time (``inf`` when there is none)."""
        contacts = self.contacts
        if not contacts or contacts[-1][0] < self.done:
            return inf
        return contacts[bisect_left(contacts, (self.done,))][0]

    def to_bytes(self) -> bytes:
        """Compact, versioned JSON; :meth:`from_bytes` restores an identical state."""
        fields: list[Any] = [STATE_VERSION, self.service_type, self.contacts, self.done, self.last_fire]
        if self.firing is not None:  # absent otherwise: states written before updates existed read the same
            fields.append(self.firing.to_list())
        return orjson.dumps(fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> "IncidentState":
        """Restore a state written by :meth:`to_bytes`; raises :class:`StateError`."""
        try:
            version, svc, rows, done, last_fire, *rest = orjson.loads(data)
            state = cls(svc)
            state.contacts = [(float(t), eid, cid) for t, eid, cid in rows]
            if rest:
                fired_with, peak, reported, tick, evidence = rest[0]
                state.firing = Firing(int(fired_with), int(peak), int(reported), float(tick),
                                      [str(e) for e in evidence])
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise StateError(f"incident state: cannot decode ({exc})") from None
        if version != STATE_VERSION:
            raise StateError(f"incident state: unsupported version {version!r}")
        state.done, state.last_fire = done, last_fire
        return state

    def _fields(self) -> tuple[Any, ...]:
        return self.service_type, self.contacts, self.done, self.last_fire, self.firing

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
        if t < state.done and t >= state.since and state.counts_valid():  # a late one, in the counted window
            counts = state.counts
            counts[cid] = counts.get(cid, 0) + 1
        if len(contacts) <= self._cap:
            return state, []
        # Too many undecided contacts: decide the oldest moments now (arrival order decides),
        # and if one busy window still holds too many, forget its oldest contacts.
        alerts = self.advance(state, contacts[len(contacts) - self._cap][0] + self._late)
        if len(contacts) > self._cap:
            _drop(state, len(contacts) - self._cap)
        return state, alerts

    def advance(self, state: IncidentState, watermark: float) -> list[Alert]:
        """Decide every moment before ``watermark - incident_late_tolerance``; returns the alerts."""
        upto = watermark - self._late
        contacts = state.contacts
        if upto <= state.done:
            return []
        if not contacts:
            return self._ticks(state, upto)
        # Moments that cannot fire are only counted (the counts go on to the next decision).
        alerts = self._decide(state, upto, self._may_fire(state, upto))
        alerts += self._ticks(state, upto)
        if upto == inf:  # the end of the stream: decided up to the newest contact, later ones still count
            upto = nextafter(contacts[-1][0], inf) if contacts else state.done
        state.done = max(state.done, upto)
        state.counted_at = state.done  # every contact before it is counted (from ``since``)
        self._trim(state)
        return alerts

    def _forgotten(self, state: IncidentState) -> float:
        """Contacts before this time cannot be in any undecided window."""
        c = self._c
        if state.firing is not None:  # its count is still decided at every moment: keep whole windows
            return state.done - c.incident_window
        return max(state.done - c.incident_window, state.last_fire + c.incident_cooldown - c.incident_window)

    def _trim(self, state: IncidentState) -> None:
        keep_from = self._forgotten(state)
        contacts = state.contacts
        if contacts and contacts[0][0] < keep_from:
            _drop(state, bisect_left(contacts, (keep_from,)))

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

    def _decide(self, state: IncidentState, upto: float, judge: bool = True) -> list[Alert]:
        """Walk the undecided moments before ``upto`` in time order with a sliding window of
        customer counts (carried over from the last call); with ``judge`` false, only count."""
        c = self._c
        contacts, window, need = state.contacts, c.incident_window, c.incident_customers
        width = c.incident_cooldown or 1.0
        alerts: list[Alert] = []
        n = len(contacts)
        i = bisect_left(contacts, (state.done,))
        if not state.counts_valid():  # recount: the contacts in every undecided moment's window
            state.since = state.done - window
            present: dict[str, int] = {}
            for k in range(bisect_left(contacts, (state.since,)), i):
                cid = contacts[k][2]
                present[cid] = present.get(cid, 0) + 1
            state.counts, state.counted = present, contacts
        present = state.counts
        lo = bisect_left(contacts, (state.since,))
        while i < n and contacts[i][0] < upto:
            moment = contacts[i][0]
            while i < n and contacts[i][0] == moment:  # every contact at this moment is in its window
                cid = contacts[i][2]
                present[cid] = present.get(cid, 0) + 1
                i += 1
            start = moment - window
            state.since = start
            while contacts[lo][0] < start:
                cid = contacts[lo][2]
                left = present[cid] - 1
                if left:
                    present[cid] = left
                else:
                    del present[cid]
                lo += 1
            if not judge:
                continue
            if state.firing is not None and moment >= state.firing.tick:
                alerts += self._ticks(state, moment)  # the moments before it are decided
            if len(present) < need:
                continue
            if moment - state.last_fire < c.incident_cooldown or moment // width == state.last_fire // width:
                if state.firing is not None:  # within its cooldown: the count it may be updated with
                    state.firing.peak = max(state.firing.peak, len(present))
                continue  # one alert per cooldown, and never two ids alike
            state.last_fire = moment
            evidence = self._evidence(contacts[lo:i])
            count = len(present)
            if c.incident_update and c.incident_cooldown:
                state.firing = Firing(count, count, count, self._next_tick(moment, moment), evidence)
            alerts.append(self._alert(state.service_type, moment, count, evidence))
        return alerts


    def _ticks(self, state: IncidentState, upto: float) -> list[Alert]:
        """Update times at or before ``upto`` (every moment before them is decided): the update
        if the peak grew since the last alert; the last one, at the cooldown's end, closes it.

        Update times are ``m + k * incident_update_seconds`` up to the cooldown's end, so which
        updates there are depends on the contacts' times only, never on when they were read."""
        firing = state.firing
        if firing is None or upto < firing.tick:
            return []
        alerts = []
        if firing.peak > firing.reported:  # the peak as of the first due tick: later moments are not counted yet
            firing.reported = firing.peak
            alerts.append(self._alert(state.service_type, state.last_fire, firing.peak, firing.evidence,
                                      firing.fired_with))
        if upto >= state.last_fire + self._c.incident_cooldown:
            state.firing = None  # its cooldown is decided: another incident may fire from here on
        else:
            firing.tick = self._next_tick(state.last_fire, upto)
        return alerts

    def _next_tick(self, fired: float, after: float) -> float:
        """The first update time later than ``after`` (the cooldown's end at the latest)."""
        c = self._c
        step = c.incident_update
        return min(fired + (floor((after - fired) / step) + 1) * step, fired + c.incident_cooldown)

    def _evidence(self, window: list[tuple[float, str, str]]) -> list[str]:
        """The first distinct customers of the window by ``(occurred_at, event_id)``."""
        c = self._c
        evidence: list[str] = []
        counted: set[str] = set()
        for _, eid, cid in window:
            if cid not in counted:
                counted.add(cid)
                evidence.append(eid)
                if len(evidence) == c.incident_customers:
                    break
        return evidence[:c.evidence_limit]

    def _alert(self, svc: str, moment: float, count: int, evidence: list[str], fired_with: int | None = None) -> Alert:
        c = self._c
        width = c.incident_cooldown or 1.0
        summary = f"{count} customers contacted {svc} within {c.incident_span}"
        if fired_with is not None:
            summary += f" (raised with {fired_with})"
        return build_alert({
            "alert_id": alert_id("incident", None, svc, f"bucket:{floor(moment / width)}:{width:g}"),
            "rule": "incident", "severity": "critical", "status": "firing", "customer_id": None,
            "service_type": svc, "segment": None, "score": None, "risk_band": None,
            "triggered_at": datetime.fromtimestamp(moment, timezone.utc), "emitted_at": None,
            "summary": summary, "evidence": list(evidence),
        })


def _drop(state: IncidentState, k: int) -> None:
    """Forget the ``k`` oldest contacts, uncounting those the counts hold."""
    contacts = state.contacts
    if state.counts_valid():
        counts, done = state.counts, state.done
        for x in range(bisect_left(contacts, (state.since,), 0, k), k):
            t, _, cid = contacts[x]
            if t < done:
                left = counts[cid] - 1
                if left:
                    counts[cid] = left
                else:
                    del counts[cid]
    del contacts[:k]
