"""Alert identity, cooldowns, severity and the final :class:`~cxpulse.schemas.Alert` records.

During a step the engine collects :class:`Pending` alerts; they become ``Alert`` models
at the end of the step, when the score and band after the event are known.
"""

from datetime import datetime, timezone
from hashlib import blake2b
from math import floor
from typing import NamedTuple

from cxpulse.schemas import Alert

from .compiled import BANDS, ESCALATING_SEGMENTS, SEVERITIES, Compiled
from .state import CustomerState

__all__ = ["Pending", "alert_id", "escalate", "materialise", "passes_cooldown", "span"]

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


def materialise(c: Compiled, state: CustomerState, pending: list[Pending], segment: str,
                score: float, band: int) -> list[Alert]:
    """Turn pending alerts into ``Alert`` records and remember them for the read API."""
    band_name = BANDS[band]
    # Floored, so 69.96 (at_risk) never reads as 70.0.
    suffix = f" (score {floor(score * 10) / 10:.1f}, {band_name})"
    alerts = []
    for p in pending:
        alerts.append(Alert.model_construct(
            alert_id=p.alert_id, rule=p.rule, severity=SEVERITIES[p.level], status=p.status,
            customer_id=state.customer_id, service_type=p.service_type, segment=segment,
            score=score, risk_band=band_name,
            triggered_at=datetime.fromtimestamp(p.triggered_at, timezone.utc),
            emitted_at=None, summary=p.summary + suffix, evidence=p.evidence[-c.evidence_limit:],
        ))
        _remember(c, state, p)
    return alerts


def _remember(c: Compiled, state: CustomerState, p: Pending) -> None:
    if not c.recent_alerts:
        return
    recent = state.recent
    recent.append((p.alert_id, p.rule, SEVERITIES[p.level], p.status, p.service_type, p.triggered_at))
    if len(recent) > c.recent_alerts:
        del recent[0]


def span(seconds: float) -> str:
    """A window length for humans: ``72 h``, ``30 d``, ``15 min``."""
    if seconds >= 7 * 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
