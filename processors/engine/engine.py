"""The per-customer engine: one event in, the new state, score signals and alerts out.

``Engine.step`` is pure in the sense that matters here: its result depends only on the
state passed in, the event and the settings — never on the wall clock, randomness or
other customers — so the faust worker, ``cxpulse replay`` and the tests agree.
"""

from datetime import datetime, timezone
from math import exp

from cxpulse.schemas import AgentBrief, AgentWarning, Alert, Event, ScoreSnapshot

from .briefing import brief_data, warning_data
from .alerting import Pending, alert_id, build_snapshot, escalate, materialise, passes_cooldown
from .compiled import BANDS, Compiled
from .results import Contact, StepResult
from .score import add_points, score_of
from .settings import EngineSettings
from .state import CustomerState, id_bit, id_mask
from .tickets import breach, breach_trigger, on_ticket, overdue
from .windows import add_contact, add_grievance, add_started, end_started, sweep

__all__ = ["Engine"]

CHURN_EVIDENCE = 10
_tuple = tuple.__new__  # build named tuples without their Python-level __new__


class Engine:
    """Scores customers and applies every per-customer rule of docs/rules.md."""

    __slots__ = ("settings", "_c")

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings if settings is not None else EngineSettings.model_validate({})
        self._c = Compiled(self.settings)

    def new_state(self, customer_id: str) -> CustomerState:
        """The state of a customer with no history (score 100)."""
        return CustomerState(customer_id)

    def band(self, score: float) -> str:
        """The risk band of a score under these settings."""
        return BANDS[self._c.band(score)]

    def step(self, state: CustomerState | None, event: Event) -> StepResult:
        """Apply one event to its customer's state (``None`` for a new customer).

        Open tickets due before the event (or the customer's latest time) breach first,
        exactly as :meth:`check_sla` would have found them; then the event's signals and
        rules apply; then a band change drives ``churn_risk``. The state is updated in place.
        """
        # The hot path of every caller: locals over attributes, few calls (see bench/).
        c = self._c
        eid = event.event_id
        t = event.occurred_at.timestamp()
        bit = id_bit(eid)
        if state is None:
            state = CustomerState(event.customer_id)
            state.swept = t
            before = None
            ids = state.seen_ids
        else:
            ids = state.seen_ids
            if state.seen_of is not ids:  # a decoded state, a ring assigned from outside
                state.seen_mask, state.seen_of = id_mask(ids), ids
            # The ring's ids are cold in memory: scan it only when the filter may hold the id.
            if state.seen_mask & bit and eid in ids:
                return self._unchanged(state, t, True)
            before = _band(c, state.penalty) if state.events_seen else None
        ids.append(eid)
        state.events_seen += 1
        if len(ids) > c.dedup:
            del ids[0]
            # Ids that left the ring keep their bits until the filter is rebuilt, every so often.
            state.seen_mask = id_mask(ids) if state.events_seen % 32 == 0 else state.seen_mask | bit
        else:
            state.seen_mask |= bit
        kind = event.event_type
        if kind == "account":
            return self._outcome(state, event, t, before)
        signals: list[str] = []
        alerts: list[Alert] = []
        ref = state.ref
        if state.due_min < (t if t > ref else ref):
            _breach_overdue(c, state, t if t > ref else ref, signals, alerts)
        segment = event.segment
        kind = event.event_type
        if t >= state.ref:
            state.segment = segment
            if t > state.ref:  # decay to the event's time, so its own points simply add
                state.penalty *= exp((state.ref - t) * c.k)
                state.ref = t
        churn_from = _band(c, state.penalty) if signals else (before or 0)
        pending: list[Pending] = []
        due: list[tuple[float, str]] | tuple = ()
        if kind == "call":
            contact = _call(c, state, event, t, eid, segment, signals, pending)
        elif kind == "ticket":
            due = []
            contact = _ticket(c, state, event, t, eid, segment, signals, pending, due)
        elif kind == "feedback":
            contact = None
            _feedback(c, state, event, t, eid, segment, signals, pending)
        else:
            contact = _start(c, state, event, t, eid, segment, signals, pending)
        ref = state.ref
        if state.due_min < ref:
            # This event set a due time the customer's own time has already passed.
            _breach_overdue(c, state, ref, signals, alerts)
        if ref - state.swept > c.sweep_every:
            sweep(c, state)
        score = 100.0 - state.penalty
        score = 0.0 if score < 0.0 else (100.0 if score > 100.0 else score)
        after = 0 if score >= c.healthy else (2 if score < c.critical else 1)
        if after > state.churn_level or (after == 0 and state.churn_level):
            _churn(c, state, churn_from, after, t, event.service_type, eid, segment, pending,
                   ids[-CHURN_EVIDENCE:])
        if pending:
            alerts += materialise(c, state, pending, segment, score, after)
        if len(state.cooldowns) > c.max_cooldowns:  # an alert added one (or a state written before the cap)
            _drop_cooldowns(c, state, signals)
        return _tuple(StepResult, (state, alerts, False, tuple(signals),
                                   None if before is None else BANDS[before], BANDS[after], score,
                                   contact, tuple(due), t))

    def check_sla(self, state: CustomerState, clock: float) -> StepResult:
        """Breach the customer's open tickets whose ``due_at`` is before ``clock``.

        ``clock`` is the stream's clock (the largest ``occurred_at`` seen). Each breach is
        a signal at ``due_at`` with ``triggered_at = due_at``; tickets breach in due order.
        """
        c = self._c
        score = score_of(state)
        before = c.band(score)
        signals: list[str] = []
        alerts: list[Alert] = []
        if state.due_min < clock:
            _breach_overdue(c, state, clock, signals, alerts)
            if len(state.cooldowns) > c.max_cooldowns:
                _drop_cooldowns(c, state, signals)
        if not signals:
            return self._unchanged(state, clock, False)
        score = score_of(state)
        return StepResult(state, alerts, False, tuple(signals), BANDS[before],
                          BANDS[c.band(score)], score, None, (), clock)

    def snapshot(self, state: CustomerState) -> ScoreSnapshot:
        """The customer's row on ``cx.scores`` and in the read API."""
        return build_snapshot(self.snapshot_data(state))

    def snapshot_data(self, state: CustomerState) -> dict:
        """:meth:`snapshot`'s fields as a plain dict (cheap to send between processes)."""
        score = score_of(state)
        return {
            "customer_id": state.customer_id, "score": score, "risk_band": BANDS[self._c.band(score)],
            "sensitive": state.is_sensitive(), "open_tickets": len(state.tickets),
            "updated_at": datetime.fromtimestamp(max(state.ref, 0.0), timezone.utc),
            "events_seen": state.events_seen,
        }

    def warning(self, state: CustomerState, event: Event, result: StepResult) -> AgentWarning | None:
        """The agent warning of a contact start, from the state after ``step`` and its result
        (``None`` for any other event, and for a duplicate). docs/rules.md, "Agent warnings"."""
        data = self.warning_data(state, event, result)
        return None if data is None else AgentWarning.model_validate(data)

    def warning_data(self, state: CustomerState, event: Event, result: StepResult) -> dict | None:
        """:meth:`warning` as the JSON-ready dict it validates (what the worker writes)."""
        if event.event_type != "contact_started" or result.duplicate:
            return None
        return warning_data(self._c, state, event, result)

    def brief(self, state: CustomerState, at: float | None = None) -> AgentBrief:
        """What an agent must know about the customer at event time ``at`` (default: its latest event)."""
        return AgentBrief.model_validate(brief_data(self._c, state, at))

    def _outcome(self, state: CustomerState, event, t: float, before: int | None) -> StepResult:
        """An account event: remembered (the latest by event time), no signal, no rule, no clock.

        The score stays what the customer's last contact left (``ref`` does not move), so
        its band is the band the customer had when it left (docs/rules.md, "Outcomes").
        """
        if t >= state.ref:
            state.segment = event.segment
        if state.outcome is None or t >= state.outcome[1]:
            state.outcome = (event.action, t)
        score = score_of(state)
        return _tuple(StepResult, (state, [], False, (), None if before is None else BANDS[before],
                                   BANDS[self._c.band(score)], score, None, (), t))

    def _unchanged(self, state: CustomerState, at: float, duplicate: bool) -> StepResult:
        score = score_of(state)
        band = BANDS[self._c.band(score)] if state.events_seen else None
        return _tuple(StepResult, (state, [], duplicate, (), band, band or "healthy", score, None, (), at))


def _breach_overdue(c: Compiled, state: CustomerState, clock: float, signals: list[str],
                    alerts: list[Alert]) -> None:
    """Breach tickets due before ``clock`` one by one, each with its own band check.

    Alerts are built right after each breach, with the score at that moment, so a breach
    found by the stream clock and one found by the customer's next event are the same
    alerts (same ids, same scores).
    """
    segment = state.segment
    for due, tid in overdue(state, clock):
        tk = state.tickets[tid]
        before = c.band(score_of(state))
        pending: list[Pending] = []
        breach(c, state, tid, tk, segment, signals, pending)
        score = score_of(state)
        after = c.band(score)
        if after > state.churn_level:
            _churn(c, state, before, after, due, tk.service_type, f"sla:{breach_trigger(tid, due)}",
                   segment, pending, list(tk.evidence))
        if pending:
            alerts += materialise(c, state, pending, segment, score, after)
    state.refresh_due()


def _drop_cooldowns(c: Compiled, state: CustomerState, signals: list[str]) -> None:
    """More cooldowns than ``5 * max_service_types + 1`` (only with more service types than are
    kept): the oldest go, each counted as a ``cooldown_dropped`` signal (docs/rules.md, "Limits")."""
    for _ in range(state.drop_oldest_cooldowns(c.max_cooldowns)):
        signals.append("cooldown_dropped")


def _a(word: str) -> str:
    """The indefinite article for ``word`` in a summary: "an outage event", "a billing event"."""
    return "an" if word[:1].lower() in "aeiou" and word[:1] else "a"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _band(c: Compiled, penalty: float) -> int:
    """Band level of the score ``clamp(100 - penalty)``: 0 healthy, 1 at_risk, 2 critical."""
    score = 100.0 - penalty
    if score >= c.healthy:
        return 0
    return 2 if score < c.critical else 1


def _call(c: Compiled, state: CustomerState, event, t: float, eid: str, segment: str,
          signals: list[str], pending: list[Pending]) -> Contact | None:
    svc = event.service_type
    outcome = event.outcome
    contact = None
    if event.direction == "inbound":
        link = event.contact_id
        if link is None:
            contact = _tuple(Contact, (svc, state.customer_id, t, eid))
            _inbound(c, state, svc, t, eid, segment, outcome == "resolved", signals, pending)
        else:
            contact = _linked_end(c, state, link, svc, t, eid, segment, outcome == "resolved", signals, pending)
        # Waiting and hanging up are the customer's experience only when the customer called.
        if event.wait_seconds > c.long_wait:
            add_points(state, c.w_long_wait, t, c.k)
            signals.append("long_wait")
        if outcome == "abandoned":
            add_points(state, c.w_abandoned, t, c.k)
            signals.append("call_abandoned")
    hit = c.call_outcomes.get(outcome)
    if hit is not None:
        add_points(state, hit[1], t, c.k)
        signals.append(hit[0])
    if event.is_complaint:
        _complaint(c, state, svc, t, eid, segment, signals, pending)
    sentiment = event.sentiment
    if sentiment is not None and sentiment < c.negative_sentiment:
        add_points(state, c.w_sentiment, t, c.k)
        signals.append("negative_sentiment")
    return contact


def _ticket(c: Compiled, state: CustomerState, event, t: float, eid: str, segment: str,
            signals: list[str], pending: list[Pending], due: list) -> Contact | None:
    svc = event.service_type
    contact = None
    if event.action == "opened":
        link = event.contact_id
        if link is None:
            contact = _tuple(Contact, (svc, state.customer_id, t, eid))
            _inbound(c, state, svc, t, eid, segment, False, signals, pending)
        else:
            contact = _linked_end(c, state, link, svc, t, eid, segment, False, signals, pending)
    new_complaint = on_ticket(c, state, event, t, eid, segment, signals, pending, due)
    state.refresh_due()
    if new_complaint:
        _complaint(c, state, svc, t, eid, segment, signals, pending)
    return contact


def _feedback(c: Compiled, state: CustomerState, event, t: float, eid: str, segment: str,
              signals: list[str], pending: list[Pending]) -> None:
    svc = event.service_type
    dissatisfied = False
    if event.score is not None:
        name, points, dissatisfied = c.survey_weights[event.survey, event.score]
        if points:
            add_points(state, points, t, c.k)
        signals.append(name)
    if dissatisfied:
        level = escalate(1, segment)
        if passes_cooldown(state, "detractor", svc, t, level, c.cooldown):
            pending.append(Pending(
                "detractor", level, "firing", svc, t,
                f"{state.customer_id} gave a dissatisfied {event.survey.upper()} response "
                f"({event.score}) about {svc}",
                [eid], alert_id("detractor", state.customer_id, svc, eid)))
    if event.is_complaint:
        add_points(state, c.w_complaint, t, c.k)
        signals.append("complaint")
    if dissatisfied or event.is_complaint:
        _grievance(c, state, svc, t, eid, segment, pending)


def _inbound(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, segment: str,
             resolved_call: bool, signals: list[str], pending: list[Pending]) -> None:
    add_points(state, c.w_inbound, t, c.k)
    signals.append("inbound_contact")
    # Sensitivity as it stood before this event: the agent is warned as the contact arrives.
    if state.sensitive_since <= t < state.sensitive_until:
        _sensitive_contact(c, state, svc, t, eid, segment, pending)
    count, window, start = add_contact(c, state, svc, t, eid, resolved_call, signals)
    if count >= c.repeat_warning:
        _repeat(c, state, svc, t, eid, segment, count, window, start, pending)


def _sensitive_contact(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, segment: str,
                       pending: list[Pending]) -> None:
    level = escalate(1, segment)
    if passes_cooldown(state, "sensitive_contact", svc, t, level, c.cooldown):
        cid = state.customer_id
        until = datetime.fromtimestamp(state.sensitive_until, timezone.utc).date().isoformat()
        pending.append(Pending(
            "sensitive_contact", level, "firing", svc, t,
            f"sensitive customer {cid} contacted {svc} again (sensitive until {until})",
            _sensitive_evidence(state, eid), alert_id("sensitive_contact", cid, svc, eid)))


def _repeat(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, segment: str, count: int,
            window: list, start: int, pending: list[Pending]) -> None:
    level = escalate(2 if count >= c.repeat_critical else 1, segment)
    if passes_cooldown(state, "repeat_contact", svc, t, level, c.cooldown):
        cid = state.customer_id
        pending.append(Pending(
            "repeat_contact", level, "firing", svc, t,
            f"{cid} contacted {svc} {_times(count)} within {c.repeat_span}",
            [e[1] for e in window[start:]], alert_id("repeat_contact", cid, svc, eid)))


def _start(c: Compiled, state: CustomerState, event, t: float, eid: str, segment: str,
           signals: list[str], pending: list[Pending]) -> Contact | None:
    """A contact begins: it counts in the windows now and warns (sensitive, repeat) now;
    its points come with its end record. A contact already known (a repeated start, or a
    start read after its end) counts nothing again."""
    link = event.contact_id
    if _link_index(state, link) >= 0:
        return None
    svc = event.service_type
    _remember_link(c, state, link, svc, t, eid, 0)
    if state.sensitive_since <= t < state.sensitive_until:
        _sensitive_contact(c, state, svc, t, eid, segment, pending)
    count, window, start = add_started(c, state, svc, t, eid, signals)
    if count >= c.repeat_warning:
        _repeat(c, state, svc, t, eid, segment, count, window, start, pending)
    return _tuple(Contact, (svc, state.customer_id, t, eid))


def _linked_end(c: Compiled, state: CustomerState, link: str, svc: str, t: float, eid: str, segment: str,
                resolved_call: bool, signals: list[str], pending: list[Pending]) -> Contact | None:
    """The record of an ended contact that names its ``contact_id``. Unknown: an inbound
    contact exactly as without the id (remembered, so a late start counts nothing). Known
    from its start: the contact's points, at the start's time and by its place in the
    window; no alert again. Known and ended already: nothing more for the contact."""
    index = _link_index(state, link)
    if index < 0:
        _inbound(c, state, svc, t, eid, segment, resolved_call, signals, pending)
        _remember_link(c, state, link, svc, t, eid, 1)
        return _tuple(Contact, (svc, state.customer_id, t, eid))
    _, start_svc, start_t, start_eid, ended = state.contact_ids[index]
    if not ended:
        state.contact_ids[index] = (link, start_svc, start_t, start_eid, 1)
        if not end_started(c, state, start_svc, start_t, start_eid, resolved_call, signals):
            add_points(state, c.w_inbound, start_t, c.k)  # trimmed from its window: its own point only
            signals.append("inbound_contact")
    return None


def _link_index(state: CustomerState, link: str) -> int:
    for index, entry in enumerate(state.contact_ids):
        if entry[0] == link:
            return index
    return -1


def _remember_link(c: Compiled, state: CustomerState, link: str, svc: str, t: float, eid: str, ended: int) -> None:
    linked = state.contact_ids
    linked.append((link, svc, t, eid, ended))
    if len(linked) > c.contact_ids_kept:
        del linked[0]


def _sensitive_evidence(state: CustomerState, eid: str) -> list[str]:
    entries = sorted(e for lst in state.grievances.values() for e in lst)
    return [e[1] for e in entries[-(CHURN_EVIDENCE - 1):]] + [eid]


def _complaint(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, segment: str,
               signals: list[str], pending: list[Pending]) -> None:
    add_points(state, c.w_complaint, t, c.k)
    signals.append("complaint")
    _grievance(c, state, svc, t, eid, segment, pending)


def _grievance(c: Compiled, state: CustomerState, svc: str, t: float, eid: str, segment: str,
               pending: list[Pending]) -> None:
    count, ids, since, last = add_grievance(c, state, svc, t, eid)
    if since is None:
        return
    _mark_sensitive(state, since, last + c.sensitive_for)
    level = escalate(1, segment)
    cid = state.customer_id
    if passes_cooldown(state, "sensitive_customer", svc, t, level, c.cooldown):
        pending.append(Pending(
            "sensitive_customer", level, "firing", svc, t,
            f"{cid} complained or was dissatisfied about {svc} {_times(count)} within "
            f"{c.sensitive_span}; sensitive for {c.sensitive_for_span}",
            ids, alert_id("sensitive_customer", cid, svc, eid)))


def _mark_sensitive(state: CustomerState, since: float, until: float) -> None:
    """Merge ``[since, until)`` into the customer's sensitive interval (one interval kept)."""
    start, end = state.sensitive_since, state.sensitive_until
    if end <= start or since > end:
        state.sensitive_since, state.sensitive_until = since, until
    elif until >= start:
        state.sensitive_since, state.sensitive_until = min(start, since), max(end, until)
    # else: an older, separate episode arrived late; the later one stays.


def _churn(c: Compiled, state: CustomerState, before: int, after: int, t: float, svc: str,
           trigger: str, segment: str, pending: list[Pending], evidence: list[str]) -> None:
    cid = state.customer_id
    if after == 0:
        for aid, level, at, open_svc, _ in state.churn_open:
            pending.append(Pending("churn_risk", level, "resolved", open_svc, at,
                                   f"{cid}'s experience score recovered to healthy",
                                   list(evidence), aid))
        state.churn_open = ()
        state.churn_level = 0
        return
    state.churn_level = after
    level = escalate(after, segment)
    if not passes_cooldown(state, "churn_risk", "*", t, level, c.cooldown):
        return
    aid = alert_id("churn_risk", cid, svc, trigger)
    state.churn_open += ((aid, level, t, svc, trigger),)
    pending.append(Pending(
        "churn_risk", level, "firing", svc, t,
        f"{cid}'s experience score fell from {BANDS[before]} to {BANDS[after]} after {_a(svc)} {svc} event",
        list(evidence), aid))
