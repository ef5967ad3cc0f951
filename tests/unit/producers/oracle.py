"""A plain reference reading of the rules in docs/rules.md, used to check the simulator's ground truth.

Deliberately independent of the generator's own bookkeeping: it looks only at the
events. It answers "would this rule fire at all for this customer" (no cooldowns).
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from cxpulse.processors.engine.settings import EngineSettings

DISSATISFIED = {"csat": 2, "nps": 6, "ces": 3}


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def is_inbound(e: dict[str, Any]) -> bool:
    """The first record of an inbound contact: a contact start, or an inbound call or opened
    ticket without a contact_id (one with a contact_id ends a contact its start began; the
    simulator emits a start for every contact_id it writes)."""
    if e["event_type"] == "contact_started":
        return True
    if "contact_id" in e:
        return False
    return (e["event_type"] == "call" and e["direction"] == "inbound") or (
        e["event_type"] == "ticket" and e["action"] == "opened"
    )


def is_dissatisfied(e: dict[str, Any]) -> bool:
    limit = DISSATISFIED.get(e.get("survey", ""))
    return e["event_type"] == "feedback" and limit is not None and e["score"] <= limit


def max_in_window(times: list[float], window: float) -> int:
    times, best, low = sorted(times), 0, 0
    for high, t in enumerate(times):
        while t - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


def customer_rules(events: list[dict[str, Any]], engine: EngineSettings) -> dict[str, set[str]]:
    """customer_id -> the customer rules that would fire for it."""
    fired: dict[str, set[str]] = defaultdict(set)
    contacts: dict[tuple[str, str], list[float]] = defaultdict(list)
    signals: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in events:
        who, key, t = e["customer_id"], (e["customer_id"], e["service_type"]), at(e["occurred_at"])
        if is_inbound(e):
            contacts[key].append(t)
        if e.get("is_complaint") or is_dissatisfied(e):
            signals[key].append(t)
        if is_dissatisfied(e):
            fired[who].add("detractor")
    for (who, _), times in contacts.items():
        if max_in_window(times, engine.repeat_window_seconds) >= engine.repeat_warning_at:
            fired[who].add("repeat_contact")
    sensitive_since = _sensitive_since(signals, engine)
    for who, since in sensitive_since.items():
        fired[who].add("sensitive_customer")
        later = [at(e["occurred_at"]) for e in events if e["customer_id"] == who and is_inbound(e)]
        if any(since < t <= since + engine.sensitive_for_seconds for t in later):
            fired[who].add("sensitive_contact")
    for who in sla_breaches(events):
        fired[who].add("sla_breach")
    return fired


def _sensitive_since(signals: dict[tuple[str, str], list[float]], engine: EngineSettings) -> dict[str, float]:
    since: dict[str, float] = {}
    n, window = engine.sensitive_at, engine.sensitive_window_seconds
    for (who, _), times in signals.items():
        times = sorted(times)
        for i in range(n - 1, len(times)):
            if times[i] - times[i - n + 1] <= window:
                since[who] = min(since.get(who, times[i]), times[i])
                break
    return since


def sla_breaches(events: list[dict[str, Any]]) -> set[str]:
    clock = max(at(e["occurred_at"]) for e in events)
    due: dict[str, tuple[str, float]] = {}
    done: dict[str, float] = {}
    for e in events:
        if e["event_type"] != "ticket":
            continue
        if e["action"] == "opened" and "due_at" in e:
            due[e["ticket_id"]] = (e["customer_id"], at(e["due_at"]))
        if e["action"] in ("resolved", "closed"):
            done.setdefault(e["ticket_id"], at(e["occurred_at"]))
    return {who for tid, (who, limit) in due.items() if done.get(tid, clock) > limit}


def incidents(events: list[dict[str, Any]], engine: EngineSettings) -> dict[str, list[float]]:
    """service type -> moments when >= incident_customers distinct customers contacted within the window."""
    by_type: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for e in events:
        if is_inbound(e):
            by_type[e["service_type"]].append((at(e["occurred_at"]), e["customer_id"]))
    found: dict[str, list[float]] = {}
    for service_type, contacts in by_type.items():
        contacts.sort()
        low = 0
        for high in range(len(contacts)):
            while contacts[high][0] - contacts[low][0] >= engine.incident_window_seconds:
                low += 1
            if len({who for _, who in contacts[low : high + 1]}) >= engine.incident_customers:
                found.setdefault(service_type, []).append(contacts[high][0])
    return found


def penalty_bound(events: list[dict[str, Any]], engine: EngineSettings) -> dict[str, float]:
    """Per customer, the score penalty without decay and without credits: an upper bound."""
    w, total = engine.weights, defaultdict(float)
    recent: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in events:
        who, t, points = e["customer_id"], at(e["occurred_at"]), 0.0
        if is_inbound(e):
            key = (who, e["service_type"])
            points += w.inbound_contact
            if any(t - s < engine.repeat_window_seconds for s in recent[key]):
                points += w.repeat_contact
            recent[key].append(t)
        points += w.complaint if e.get("is_complaint") else 0
        if e["event_type"] == "call":
            points += {"abandoned": w.call_abandoned, "transferred": w.call_transferred,
                       "unresolved": w.call_unresolved, "escalated": w.call_escalated}.get(e["outcome"], 0)
            points += w.long_wait if e["wait_seconds"] > engine.long_wait_seconds else 0
            points += w.negative_sentiment if e.get("sentiment", 0) < engine.negative_sentiment_below else 0
        if e["event_type"] == "ticket":
            points += {"reopened": w.ticket_reopened, "escalated": w.ticket_escalated}.get(e["action"], 0)
        if e["event_type"] == "feedback" and e.get("score") is not None:
            points += _survey_points(e["survey"], e["score"], w)
        total[who] += max(points, 0.0)
    for who in sla_breaches(events):
        total[who] += w.sla_breach
    return total


def _survey_points(survey: str, score: int, w: Any) -> float:
    if survey == "csat":
        return w.csat_low if score <= 2 else w.csat_mid if score == 3 else 0
    if survey == "nps":
        return w.nps_detractor if score <= 6 else 0
    return w.ces_low if score <= 3 else 0
