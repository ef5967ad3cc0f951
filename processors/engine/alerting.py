"""Alert identity, cooldowns, severity and the final :class:`~cxpulse.schemas.Alert` records.

During a step the engine collects :class:`Pending` alerts; they become ``Alert`` models
at the end of the step, when the score and band after the event are known.
"""

from datetime import datetime, timezone
from hashlib import blake2b
from math import floor
from typing import NamedTuple

from cxpulse.schemas import Alert

from .compiled import BANDS, ESCALATING_SEGMENTS, SEVERITIES, Compiled, span
from .state import CustomerState

__all__ = ["Pending", "alert_id", "build_alert", "escalate", "materialise", "passes_cooldown", "span"]

ALERT_ID_PREFIX = "cxa-"


class Pending(NamedTuple):
    """An alert decided during a step, waiting for the score after the event."""

    rule: str
    level: int  # 1 warning, 2 critical
    status: str  # "firing" | "resolved"
    service_type: str
    triggered_at: float
    summary: str  # without the "(score ..., band)" suffix
    evidence: list[str]
    alert_id: str


def alert_id(rule: str, customer_id: str | None, service_type: str, trigger: str) -> str:
    """Deterministic id: a hash of rule, customer, service type and the trigger."""
    key = f"{rule}\x1f{customer_id or ''}\x1f{service_type}\x1f{trigger}".encode()
    return ALERT_ID_PREFIX + blake2b(key, digest_size=12).hexdigest()


def escalate(level: int, segment: str) -> int:
    """Segments ``vip``, ``key`` and ``vulnerable`` raise a customer alert one level."""
    if segment in ESCALATING_SEGMENTS and level < 2:
        return level + 1
    return level


def passes_cooldown(state: CustomerState, rule: str, svc: str, t: float, level: int,
                    cooldown: float) -> bool:
    """Record and allow a firing unless the same rule and service fired within ``cooldown``
    of ``t`` (either side: late events count) at the same or a higher level."""
    key = (rule, svc)
    last = state.cooldowns.get(key)
    if last is not None:
        last_t, last_level = last
        if level <= last_level and abs(t - last_t) < cooldown:
            return False
        if t < last_t:
            state.cooldowns[key] = (last_t, max(level, last_level))
            return True
    state.cooldowns[key] = (t, level)
    return True


def _build_unchecked(fields: dict) -> Alert:
    """An ``Alert`` from fields the engine built itself (already the right types).

    ``Alert(**fields)`` validates (~6 µs) and ``model_construct`` is no faster; this sets
    the instance dict directly, as ``model_construct`` does internally (~1.4 µs). The unit
    tests re-validate every alert the engine makes, and :func:`_self_check` falls back to
    validation if a pydantic release ever stores models differently.
    """
    alert = _new(Alert)
    _set(alert, "__dict__", fields)
    _set(alert, "__pydantic_fields_set__", _FIELDS_SET)
    _set(alert, "__pydantic_extra__", None)
    _set(alert, "__pydantic_private__", None)
    return alert


def _build_checked(fields: dict) -> Alert:
    return Alert(**fields)


_new = object.__new__
_set = object.__setattr__
_FIELDS_SET = frozenset(Alert.model_fields)


def _self_check():
    sample = {
        "alert_id": "cxa-0", "rule": "detractor", "severity": "warning", "status": "firing",
        "customer_id": "C-1", "service_type": "billing", "segment": "standard", "score": 50.0,
        "risk_band": "at_risk", "triggered_at": datetime.fromtimestamp(0, timezone.utc),
        "emitted_at": None, "summary": "s", "evidence": ["e"],
    }
    try:
        fast = _build_unchecked(dict(sample))
        if fast == Alert(**sample) and fast.model_dump() == sample and list(sample) == list(Alert.model_fields):
            return _build_unchecked
    except Exception:  # noqa: BLE001 - any surprise means: use the validating constructor
        pass
    return _build_checked


build_alert = _self_check()


def materialise(c: Compiled, state: CustomerState, pending: list[Pending], segment: str,
                score: float, band: int) -> list[Alert]:
    """Turn pending alerts into ``Alert`` records and remember them for the read API."""
    band_name = BANDS[band]
    # Floored, so 69.96 (at_risk) never reads as 70.0.
    suffix = f" (score {floor(score * 10) / 10:.1f}, {band_name})"
    alerts = []
    for p in pending:
        alerts.append(build_alert({
            "alert_id": p.alert_id, "rule": p.rule, "severity": SEVERITIES[p.level], "status": p.status,
            "customer_id": state.customer_id, "service_type": p.service_type, "segment": segment,
            "score": score, "risk_band": band_name,
            "triggered_at": datetime.fromtimestamp(p.triggered_at, timezone.utc),
            "emitted_at": None, "summary": p.summary + suffix, "evidence": p.evidence[-c.evidence_limit:],
        }))
        _remember(c, state, p)
    return alerts


def _remember(c: Compiled, state: CustomerState, p: Pending) -> None:
    if c.recent_alerts:
        entry = (p.alert_id, p.rule, SEVERITIES[p.level], p.status, p.service_type, p.triggered_at)
        state.recent = (state.recent + (entry,))[-c.recent_alerts:]
