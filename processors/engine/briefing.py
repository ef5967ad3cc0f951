"""What the agent must know: the warning at a contact start and the brief of a customer.

Both are functions of the customer's state (and, for a warning, of the start's step), so
the worker, a replay and the tests build the same records. Nothing here reads the clock:
``emitted_at`` is stamped by whoever writes the record.

The builders return JSON-ready dicts (times as RFC 3339 strings): the worker serialises a
warning straight from it (a validated model costs several times as much, and one is built
per contact start); :class:`~cxpulse.schemas.AgentWarning` and ``AgentBrief`` validate the
same dicts for every other caller, and the unit tests check that they always do.
"""

from bisect import bisect_left, bisect_right
from datetime import datetime, timezone
from hashlib import blake2b

from .alerting import escalate, score_text
from .compiled import BANDS, ESCALATING_SEGMENTS, LEVELS, SEVERITIES, Compiled
from .results import StepResult
from .score import score_of
from .state import CustomerState

__all__ = ["GRIEVANCES_SHOWN", "WARNING_ID_PREFIX", "brief_data", "warning_data", "warning_id"]

WARNING_ID_PREFIX = "cxw-"
GRIEVANCES_SHOWN = 10  # as many as a sensitive_contact alert's evidence holds


def warning_id(customer_id: str, event_id: str) -> str:
    """Deterministic id of the warning for one contact start: a hash of customer and event id."""
    key = f"warning\x1f{customer_id}\x1f{event_id}".encode()
    return WARNING_ID_PREFIX + blake2b(key, digest_size=12).hexdigest()


# A time derived from an event's (sensitive for 90 days from an event in 9999) may pass the
# last moment the schemas allow: shown as that moment, never an error (docs/rules.md, "Records that fail").
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()


def _time(moment: float) -> str:
    return datetime.fromtimestamp(min(moment, _LATEST), timezone.utc).isoformat()


def _day(moment: float) -> str:
    return datetime.fromtimestamp(min(moment, _LATEST), timezone.utc).date().isoformat()


def _sensitive(state: CustomerState, at: float) -> dict | None:
    if not state.is_sensitive(at):
        return None
    entries = sorted((t, eid, svc) for svc, lst in state.grievances.items() for t, eid in lst if t <= at)
    return {
        "since": _time(state.sensitive_since), "until": _time(state.sensitive_until),
        "until_day": _day(state.sensitive_until),
        "grievances": [{"event_id": eid, "service_type": svc, "occurred_at": _time(t)}
                       for t, eid, svc in entries[-GRIEVANCES_SHOWN:]],
    }


def _repeat(c: Compiled, state: CustomerState, svc: str, at: float) -> dict:
    """Contacts on ``svc`` in the inclusive window ``[at - W, at]``."""
    lst = state.contacts.get(svc, ())
    lo = bisect_left(lst, (at - c.repeat_window,))
    hi = bisect_right(lst, (at, "\U0010ffff"))
    window = lst[lo:hi]
    return {
        "service_type": svc, "count": len(window), "window_seconds": c.repeat_window,
        "first_at": _time(window[0][0]) if window else None,
        "evidence": [e[1] for e in window][-c.evidence_limit:],
    }


def _tickets(state: CustomerState, at: float) -> list[dict]:
    rows = []
    for tid, tk in state.tickets.items():
        overdue = tk.breached_due is not None or (tk.due_at is not None and tk.due_at < at)
        rows.append({
            "ticket_id": tid, "service_type": tk.service_type, "opened_at": _time(tk.opened_at),
            "due_at": None if tk.due_at is None else _time(tk.due_at), "overdue": overdue,
            "urgent": tk.urgent, "complaint": tk.complaint,
        })
    rows.sort(key=lambda r: (not r["overdue"], r["due_at"] is None, _due_key(state, str(r["ticket_id"])), str(r["ticket_id"])))
    return rows


def _due_key(state: CustomerState, tid: str) -> float:
    tk = state.tickets[tid]
    return tk.due_at if tk.due_at is not None else tk.opened_at


def _recent(c: Compiled, state: CustomerState, at: float) -> list[dict]:
    horizon = at - c.warning_recent
    return [{"alert_id": aid, "rule": rule, "severity": severity, "status": status, "service_type": svc,
             "triggered_at": _time(when)}
            for aid, rule, severity, status, svc, when in reversed(state.recent) if when >= horizon]


def _concern(c: Compiled, segment: str, sensitive: dict | None, repeats: list[dict], tickets: list[dict]) -> int:
    """The level the customer's state gives: what the rules would raise for it (0: no concerns)."""
    level = 0
    if sensitive is not None:
        level = escalate(1, segment)
    most = max((r["count"] for r in repeats), default=0)
    if most >= c.repeat_warning:
        level = max(level, escalate(2 if most >= c.repeat_critical else 1, segment))
    for ticket in tickets:
        if ticket["overdue"]:
            level = max(level, escalate(2 if ticket["urgent"] or ticket["complaint"] else 1, segment))
    return level


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _concerns(c: Compiled, sensitive: dict | None, repeats: list[dict], tickets: list[dict]) -> list[str]:
    parts = []
    if sensitive is not None:
        parts.append(f"sensitive until {sensitive['until_day']} "
                     f"({len(sensitive['grievances'])} complaints or dissatisfied responses)")
    for r in repeats:
        if r["count"] >= 2:
            parts.append(f"{_ordinal(r['count'])} contact on {r['service_type']} within {c.repeat_span}")
    overdue = [t["ticket_id"] for t in tickets if t["overdue"]]
    if overdue:
        parts.append(f"{len(overdue)} overdue ticket{'s' if len(overdue) > 1 else ''} ({', '.join(overdue[:3])}"
                     f"{', ...' if len(overdue) > 3 else ''})")
    return parts


def _summary(head: str, parts: list[str], score: float, band: str) -> str:
    tail = f" (score {score_text(score)}, {band})"
    body = "; ".join(parts) if parts else "no concerns"
    text = f"{head}: {body}{tail}"
    return text if len(text) <= 500 else text[:497] + "..."


def _lane(segment: str) -> str:
    return f" ({segment}, priority lane)" if segment in ESCALATING_SEGMENTS else ""


def _public(sensitive: dict | None) -> dict | None:
    if sensitive is not None:
        del sensitive["until_day"]
    return sensitive


def warning_data(c: Compiled, state: CustomerState, event, result: StepResult) -> dict:
    """The agent warning of a ``contact_started`` event (JSON-ready), from the state after its step."""
    t = result.at
    svc = event.service_type
    cid = state.customer_id
    # Where the contact sits in the window: at its start, or at its first record when the
    # start is a repeated or late one.
    place = next((entry[2] for entry in state.contact_ids if entry[0] == event.contact_id), t)
    sensitive = _sensitive(state, t)
    repeat = _repeat(c, state, svc, place)
    tickets = _tickets(state, t)
    segment = event.segment
    level = max([LEVELS[a.severity] for a in result.alerts if a.status == "firing"]
                + [_concern(c, segment, sensitive, [repeat], tickets)])
    head = f"{cid}{_lane(segment)} is contacting {svc} by {event.channel}"
    summary = _summary(head, _concerns(c, sensitive, [repeat], tickets), result.score, result.band_after)
    return {
        "warning_id": warning_id(cid, event.event_id), "customer_id": cid, "contact_id": event.contact_id,
        "event_id": event.event_id, "service_type": svc, "channel": event.channel, "agent_id": event.agent_id,
        "queue": event.queue, "segment": segment, "priority_lane": segment in ESCALATING_SEGMENTS,
        "started_at": event.occurred_at.isoformat(), "emitted_at": None, "score": result.score,
        "risk_band": result.band_after, "severity": SEVERITIES[level], "summary": summary,
        "first_record": result.contact is not None, "sensitive": _public(sensitive), "repeat": repeat,
        "tickets": tickets, "recent_alerts": _recent(c, state, t), "alerts": [a.alert_id for a in result.alerts],
    }


def brief_data(c: Compiled, state: CustomerState, at: float | None = None) -> dict:
    """The brief of a customer (JSON-ready) at event time ``at`` (default: its latest event)."""
    moment = state.ref if at is None else at
    score = score_of(state)
    band = BANDS[c.band(score)]
    sensitive = _sensitive(state, moment)
    repeats = [r for r in (_repeat(c, state, svc, moment) for svc in sorted(state.contacts)) if r["count"]]
    repeats.sort(key=lambda r: (-r["count"], r["service_type"]))
    tickets = _tickets(state, moment)
    segment = state.segment
    level = _concern(c, segment, sensitive, repeats, tickets)
    summary = _summary(f"{state.customer_id}{_lane(segment)}", _concerns(c, sensitive, repeats, tickets), score, band)
    return {
        "customer_id": state.customer_id, "segment": segment, "priority_lane": segment in ESCALATING_SEGMENTS,
        "as_of": _time(moment) if state.events_seen else None, "emitted_at": None, "score": score,
        "risk_band": band, "severity": SEVERITIES[level], "summary": summary,
        "sensitive": _public(sensitive), "repeat": repeats, "tickets": tickets,
        "recent_alerts": _recent(c, state, moment),
    }
