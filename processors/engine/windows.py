"""Event-time windows per service type: inbound contacts and grievances.

Entries are kept for the window plus ``late_tolerance_seconds`` behind the customer's
latest event, and at most ``max_window_events`` per list.

Lists are sorted by ``(t, event_id)``; windows are inclusive (``[t - W, t]``), so a
contact exactly ``W`` seconds earlier still counts. The common case — an event later
than everything in its list — is an append and one bisect. A late event is inserted in
order and counts in every window it falls into: the rule looks at each window that
ends at the late event or at a later entry within ``W`` of it, and later contacts that
now have an earlier one are re-scored (repeat added, first-contact credit withdrawn),
so the score does not depend on arrival order.
"""

from bisect import bisect_left

from .compiled import Compiled
from .score import add_points
from .state import CustomerState

__all__ = ["FCR", "PENDING", "REPEAT", "add_contact", "add_grievance", "add_started", "end_started", "sweep"]

REPEAT = 1  # the contact carried the repeat_contact signal (for a PENDING one: it is a repeat)
FCR = 2  # the contact carried the first_contact_resolution credit
PENDING = 4  # a started contact whose end record has not been read: counted, no points yet


def add_contact(c: Compiled, state: CustomerState, svc: str, t: float, eid: str,
                resolved_call: bool, signals: list[str]) -> tuple[int, list, int]:
    """Insert an inbound contact and apply its signals.

    Returns ``(count, entries, start)``: the fullest window containing the contact holds
    ``count`` contacts, ``entries[start:]`` (so the caller builds evidence only if it fires).
    """
    lst = state.contacts.get(svc)
    if lst is None:
        lst = state.contacts[svc] = []
        if len(state.contacts) > c.max_services:
            _cap_services(state.contacts, c.max_services)
    elif lst:
        last = lst[-1]
        if last[0] > t or (last[0] == t and last[1] > eid):
            return _late_contact(c, state, lst, t, eid, resolved_call, signals)
        lo = bisect_left(lst, (t - c.repeat_window,))
        if lo < len(lst):
            add_points(state, c.w_repeat, t, c.k)
            signals.append("repeat_contact")
            lst.append((t, eid, REPEAT))
        else:
            lst.append((t, eid, _first_contact(c, state, t, resolved_call, signals)))
        if lst[0][0] < t - c.repeat_keep:
            lo -= _trim(lst, t - c.repeat_keep)
        if len(lst) > c.max_window:
            del lst[0]
            lo = max(lo - 1, 0)
        return len(lst) - lo, lst, lo
    lst.append((t, eid, _first_contact(c, state, t, resolved_call, signals)))
    return 1, lst, 0


def _first_contact(c: Compiled, state: CustomerState, t: float, resolved_call: bool,
                   signals: list[str]) -> int:
    if resolved_call:
        add_points(state, c.w_fcr, t, c.k)
        signals.append("first_contact_resolution")
        return FCR
    return 0


def add_started(c: Compiled, state: CustomerState, svc: str, t: float, eid: str,
                signals: list[str]) -> tuple[int, list, int]:
    """Insert a started contact: it counts in every window from now on, but carries no
    points until its end record is read (:func:`end_started`). Returns as :func:`add_contact`."""
    lst = state.contacts.get(svc)
    if lst is None:
        lst = state.contacts[svc] = []
        if len(state.contacts) > c.max_services:
            _cap_services(state.contacts, c.max_services)
    elif lst:
        last = lst[-1]
        if last[0] > t or (last[0] == t and last[1] > eid):
            return _late_contact(c, state, lst, t, eid, False, signals, PENDING)
        lo = bisect_left(lst, (t - c.repeat_window,))
        lst.append((t, eid, PENDING | REPEAT if lo < len(lst) else PENDING))
        if lst[0][0] < t - c.repeat_keep:
            lo -= _trim(lst, t - c.repeat_keep)
        if len(lst) > c.max_window:
            del lst[0]
            lo = max(lo - 1, 0)
        return len(lst) - lo, lst, lo
    lst.append((t, eid, PENDING))
    return 1, lst, 0


def end_started(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, resolved_call: bool,
                signals: list[str]) -> bool:
    """The end record of a started contact (at ``t``, its start, with ``eid``) was read: apply
    the contact's points at its own time, as :func:`add_contact` would have. Returns
    ``False`` when the contact is no longer in its window list (trimmed)."""
    lst = state.contacts.get(svc)
    if not lst:
        return False
    pos = bisect_left(lst, (t, eid))
    if pos == len(lst) or lst[pos][0] != t or lst[pos][1] != eid:
        return False
    flags = lst[pos][2]
    if not flags & PENDING:
        return True  # ended already (its points are in)
    add_points(state, c.w_inbound, t, c.k)
    signals.append("inbound_contact")
    if flags & REPEAT:
        add_points(state, c.w_repeat, t, c.k)
        signals.append("repeat_contact")
        lst[pos] = (t, eid, REPEAT)
    else:
        lst[pos] = (t, eid, _first_contact(c, state, t, resolved_call, signals))
    return True


def _late_contact(c: Compiled, state: CustomerState, lst: list, t: float, eid: str,
                  resolved_call: bool, signals: list[str], pending: int = 0) -> tuple[int, list, int]:
    w = c.repeat_window
    pos = bisect_left(lst, (t, eid))
    lo = bisect_left(lst, (t - w,))
    if pending:
        flags = PENDING | REPEAT if pos > lo else PENDING
    elif pos > lo:
        add_points(state, c.w_repeat, t, c.k)
        signals.append("repeat_contact")
        flags = REPEAT
    else:
        flags = _first_contact(c, state, t, resolved_call, signals)
    lst.insert(pos, (t, eid, flags))
    end = pos + 1
    while end < len(lst) and lst[end][0] <= t + w:
        _now_repeat(c, state, lst, end, signals)
        end += 1
    count, first, last = _fullest(lst, pos, end, w)
    window = lst[first:last + 1]
    if len(lst) > c.max_window:
        del lst[0]
    return count, window, 0


def _now_repeat(c: Compiled, state: CustomerState, lst: list, j: int, signals: list[str]) -> None:
    """A later contact now has an earlier one inside the window: re-score it."""
    tj, ej, fj = lst[j]
    if fj & REPEAT:
        return
    if fj & PENDING:  # a started contact: it is a repeat now, its points come with its end
        lst[j] = (tj, ej, fj | REPEAT)
        return
    add_points(state, c.w_repeat, tj, c.k)
    signals.append("repeat_contact")
    if fj & FCR:
        add_points(state, -c.w_fcr, tj, c.k)
        signals.append("first_contact_resolution_withdrawn")
    lst[j] = (tj, ej, (fj | REPEAT) & ~FCR)


def _fullest(lst: list, pos: int, end: int, w: float) -> tuple[int, int, int]:
    """The fullest window ``[a - w, a]`` whose end ``a`` is an entry in ``lst[pos:end]``."""
    best = (0, pos, pos)
    for idx in range(pos, end):
        first = bisect_left(lst, (lst[idx][0] - w,))
        if idx - first + 1 > best[0]:
            best = (idx - first + 1, first, idx)
    return best


def add_grievance(c: Compiled, state: CustomerState, svc: str, t: float,
                  eid: str) -> tuple[int, list[str], float | None, float]:
    """Insert a complaint or dissatisfied response.

    Returns the fullest window's count, its event ids, and the first and last ends of the
    windows containing this event that reached ``sensitive_at`` (first is ``None`` if none did).
    """
    lst = state.grievances.get(svc)
    if lst is None:
        lst = state.grievances[svc] = []
        if len(state.grievances) > c.max_services:
            _cap_services(state.grievances, c.max_services)
    w = c.sensitive_window
    if not lst or lst[-1] < (t, eid):
        lo = bisect_left(lst, (t - w,))
        lst.append((t, eid))
        if lst[0][0] < t - c.sensitive_keep:
            lo -= _trim(lst, t - c.sensitive_keep)
        if len(lst) > c.max_window:
            del lst[0]
            lo = max(lo - 1, 0)
        count = len(lst) - lo
        return count, [e[1] for e in lst[lo:]], (t if count >= c.sensitive_at else None), t
    pos = bisect_left(lst, (t, eid))
    lst.insert(pos, (t, eid))
    best, since, until = (0, pos, pos), None, t
    idx = pos
    while idx < len(lst) and lst[idx][0] <= t + w:
        first = bisect_left(lst, (lst[idx][0] - w,))
        if idx - first + 1 > best[0]:
            best = (idx - first + 1, first, idx)
        if idx - first + 1 >= c.sensitive_at:
            until = lst[idx][0]
            if since is None:
                since = until
        idx += 1
    ids = [e[1] for e in lst[best[1]:best[2] + 1]]
    if len(lst) > c.max_window:
        del lst[0]
    return best[0], ids, since, until


def _trim(lst: list, before: float) -> int:
    """Drop entries older than ``before`` (no late event can still need them); returns how many."""
    cut = bisect_left(lst, (before,))
    del lst[:cut]
    return cut


def _cap_services(lists: dict[str, list], limit: int) -> None:
    """Keep the ``limit`` most recently active service types (by their latest entry)."""
    if len(lists) <= limit:
        return
    stale = min((svc for svc, lst in lists.items() if lst), key=lambda s: lists[s][-1][0], default=None)
    if stale is not None:
        del lists[stale]


def sweep(c: Compiled, state: CustomerState) -> None:
    """Drop window entries and cooldowns that can no longer matter at the customer's time."""
    ref = state.ref
    for lists, keep in ((state.contacts, c.repeat_keep), (state.grievances, c.sensitive_keep)):
        for svc in [s for s, lst in lists.items() if not lst or lst[-1][0] < ref - keep]:
            del lists[svc]
        for lst in lists.values():
            _trim(lst, ref - keep)
    horizon = ref - 2 * c.cooldown
    for key in [k for k, (t, _) in state.cooldowns.items() if t < horizon]:
        del state.cooldowns[key]
    state.swept = ref
