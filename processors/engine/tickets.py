"""Ticket lifecycle and the SLA rule (``sla_breach``).

opened (with ``due_at``) → open; updated may change ``due_at``/priority; escalated and
reopened add points; resolved/closed remove the ticket (credit when on time, a breach
when late and not yet breached). A breach is a signal at ``due_at`` and an alert whose
id is derived from the ticket and its due time, so whoever finds it — the clock, a later
event, a late resolution — produces the same alert. A breach recorded by the clock and
then contradicted by a late-arriving, on-time resolution (or due-time extension) is
withdrawn: its points are removed exactly and the alert is resolved.
"""

from .alerting import Pending, alert_id, escalate, passes_cooldown
from .compiled import Compiled
from .score import add_points
from .state import CustomerState, Ticket

__all__ = ["breach", "breach_trigger", "on_ticket", "overdue"]

EVIDENCE_PER_TICKET = 10
CLOSING = frozenset({"resolved", "closed"})


def breach_trigger(tid: str, due: float) -> str:
    return f"{tid}@{due:.3f}"


def breach(c: Compiled, state: CustomerState, tid: str, tk: Ticket, segment: str,
           signals: list[str], pending: list[Pending]) -> None:
    """Record the breach of ``tk`` at its due time and raise the alert (cooldown permitting)."""
    due = tk.due_at
    assert due is not None  # only tickets with a due time breach (overdue() picks them)
    tk.breached_due = due
    add_points(state, c.w_breach, due, c.k)
    signals.append("sla_breach")
    level = escalate(2 if (tk.urgent or tk.complaint) else 1, segment)
    svc = tk.service_type
    if not passes_cooldown(state, "sla_breach", svc, due, level, c.cooldown):
        return
    tk.alert_level = level
    why = ", ".join(w for w, on in (("urgent", tk.urgent), ("complaint", tk.complaint)) if on)
    pending.append(Pending(
        "sla_breach", level, "firing", svc, due,
        f"{state.customer_id}'s {svc} ticket {tid} was not resolved by its due time"
        + (f" ({why})" if why else ""),
        list(tk.evidence), alert_id("sla_breach", state.customer_id, svc, breach_trigger(tid, due)),
    ))


def overdue(state: CustomerState, clock: float) -> list[tuple[float, str]]:
    """``(due_at, ticket_id)`` of open, unbreached tickets due before ``clock``, earliest first."""
    return sorted((tk.due_at, tid) for tid, tk in state.tickets.items()
                  if tk.breached_due is None and tk.due_at is not None and tk.due_at < clock)


def _end_breach(c: Compiled, state: CustomerState, tid: str, tk: Ticket, t: float, eid: str,
                withdrawn: bool, signals: list[str], pending: list[Pending]) -> None:
    """The breached ticket was resolved (or its breach withdrawn): resolve the alert."""
    due = tk.breached_due
    assert due is not None  # called for breached tickets only
    if withdrawn:
        add_points(state, -c.w_breach, due, c.k)
        signals.append("sla_breach_withdrawn")
        key = ("sla_breach", tk.service_type)
        if tk.alert_level and state.cooldowns.get(key) == (due, tk.alert_level):
            del state.cooldowns[key]  # a breach that never happened holds back no other
    if tk.alert_level:
        svc = tk.service_type
        what = "turned out to be on time" if withdrawn else "was resolved after its due time"
        pending.append(Pending(
            "sla_breach", tk.alert_level, "resolved", svc, due,
            f"{state.customer_id}'s {svc} ticket {tid} {what}", tk.evidence + [eid],
            alert_id("sla_breach", state.customer_id, svc, breach_trigger(tid, due)),
        ))
    tk.breached_due = None
    tk.alert_level = 0


def on_ticket(c: Compiled, state: CustomerState, event, t: float, eid: str, segment: str,
              signals: list[str], pending: list[Pending], due_out: list) -> bool:
    """Apply a ticket event. Returns whether it is a complaint not yet counted for the ticket."""
    tid, action = event.ticket_id, event.action
    tk = state.tickets.get(tid)
    closed = state.closed.get(tid) if tk is None else None
    known_complaint = tk.complaint if tk is not None else (closed is not None and closed[1])
    new_complaint = event.is_complaint and not known_complaint
    due = event.due_at.timestamp() if event.due_at is not None else None
    if action in CLOSING:
        _close(c, state, event, tid, tk, closed, t, eid, due, segment, signals, pending)
        return new_complaint
    if action == "escalated":
        add_points(state, c.w_ticket_escalated, t, c.k)
        signals.append("ticket_escalated")
    elif action == "reopened":
        add_points(state, c.w_reopened, t, c.k)
        signals.append("ticket_reopened")
    if tk is None:
        # A late event of a ticket closed after it, or an update of a closed ticket, does not reopen it.
        if closed is not None and (t <= closed[0] or action not in ("opened", "reopened")):
            return new_complaint
        tk = _open(c, state, event, tid, t, due, known_complaint)
    else:
        _update(c, state, event, tid, tk, t, eid, due, signals, pending)
    if due is not None and tk.due_at == due and tk.breached_due is None:
        due_out.append((due, tid))
    return new_complaint


def _open(c: Compiled, state: CustomerState, event, tid: str, t: float, due: float | None,
          complaint: bool) -> Ticket:
    state.closed.pop(tid, None)
    tk = Ticket(event.service_type, due, event.priority == "urgent", complaint or event.is_complaint,
                t, [event.event_id])
    tickets = state.tickets
    tickets[tid] = tk
    if len(tickets) > c.max_tickets:
        # The longest-open ticket goes first; it has had the most time to be resolved or breach.
        del tickets[min(tickets, key=lambda k: tickets[k].opened_at)]
    return tk


def _update(c: Compiled, state: CustomerState, event, tid: str, tk: Ticket, t: float, eid: str,
            due: float | None, signals: list[str], pending: list[Pending]) -> None:
    ev = tk.evidence
    ev.append(eid)
    if len(ev) > EVIDENCE_PER_TICKET:
        del ev[1]  # keep the first event (the opening) and the latest ones
    if event.priority is not None:
        tk.urgent = event.priority == "urgent"
    if event.is_complaint:
        tk.complaint = True
    if due is not None and due != tk.due_at:
        if tk.breached_due is not None and t <= tk.breached_due:
            # Extended before it fell due (the update arrived after the clock passed): no breach.
            _end_breach(c, state, tid, tk, t, eid, True, signals, pending)
        tk.due_at = due


def _close(c: Compiled, state: CustomerState, event, tid: str, tk: Ticket | None,
           closed: tuple[float, bool] | None, t: float, eid: str, due: float | None,
           segment: str, signals: list[str], pending: list[Pending]) -> None:
    if tk is None:
        if closed is not None:
            return  # closed twice (e.g. resolved, then closed): nothing more to count
        if due is None:
            _remember_closed(c, state, tid, t, event.is_complaint)
            return
        # A resolution of a ticket we never saw open counts against its own due time.
        tk = Ticket(event.service_type, due, event.priority == "urgent", event.is_complaint, t, [eid])
        if t > due:
            breach(c, state, tid, tk, segment, signals, pending)
    else:
        del state.tickets[tid]
        tk.evidence.append(eid)
        if tk.breached_due is None and tk.due_at is not None and t > tk.due_at:
            breach(c, state, tid, tk, segment, signals, pending)
    _remember_closed(c, state, tid, t, tk.complaint or event.is_complaint)
    if tk.breached_due is not None:
        on_time = t <= tk.breached_due
        _end_breach(c, state, tid, tk, t, eid, on_time, signals, pending)
        if on_time:
            _credit(c, state, t, signals)
    elif tk.due_at is not None and t <= tk.due_at:
        _credit(c, state, t, signals)


def _credit(c: Compiled, state: CustomerState, t: float, signals: list[str]) -> None:
    add_points(state, c.w_on_time, t, c.k)
    signals.append("resolved_before_due")


def _remember_closed(c: Compiled, state: CustomerState, tid: str, t: float, complaint: bool) -> None:
    closed = state.closed
    closed.pop(tid, None)
    if c.closed_kept:
        closed[tid] = (t, complaint)
        if len(closed) > c.closed_kept:
            del closed[next(iter(closed))]
