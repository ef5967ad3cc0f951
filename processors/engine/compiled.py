"""Settings flattened into plain attributes once, so the per-event path reads floats, not models."""

import math

from cxpulse.schemas.events import DISSATISFIED_AT_OR_BELOW

from .settings import EngineSettings
from .state import COOLDOWN_RULES_PER_SERVICE

__all__ = ["BANDS", "Compiled", "LEVELS", "SEVERITIES", "span"]

# Risk bands and severities by level: 0 = healthy / info, 1 = at_risk / warning, 2 = critical.
BANDS: tuple[str, str, str] = ("healthy", "at_risk", "critical")
SEVERITIES: tuple[str, str, str] = ("info", "warning", "critical")
LEVELS: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
ESCALATING_SEGMENTS = frozenset({"vip", "key", "vulnerable"})


class Compiled:
    """Every number the engine needs, as attributes (``__slots__``), derived from settings."""

    __slots__ = (
        "settings", "k", "healthy", "critical", "long_wait", "negative_sentiment",
        "repeat_window", "repeat_warning", "repeat_critical",
        "sensitive_window", "sensitive_at", "sensitive_for",
        "incident_window", "incident_customers", "incident_cooldown", "incident_update",
        "cooldown", "repeat_keep", "sensitive_keep", "dedup", "max_tickets", "recent_alerts", "closed_kept",
        "max_window", "max_services", "evidence_limit", "sweep_every",
        "w_inbound", "w_repeat", "w_abandoned", "w_long_wait", "w_transferred",
        "w_unresolved", "w_call_escalated", "w_complaint", "w_reopened",
        "w_ticket_escalated", "w_breach", "w_sentiment", "w_fcr", "w_on_time",
        "survey_weights", "call_outcomes", "repeat_span", "sensitive_span", "sensitive_for_span",
        "incident_span", "contact_ids_kept", "warning_recent", "max_cooldowns",
    )

    def __init__(self, settings: EngineSettings) -> None:
        s, w = settings, settings.weights
        self.settings = s
        self.k = math.log(2.0) / s.half_life_seconds  # decay factor = exp(-k * dt)
        self.healthy = float(s.healthy_at_or_above)
        self.critical = float(s.critical_below)
        self.long_wait = float(s.long_wait_seconds)
        self.negative_sentiment = float(s.negative_sentiment_below)
        self.repeat_window = float(s.repeat_window_seconds)
        self.repeat_warning = s.repeat_warning_at
        self.repeat_critical = s.repeat_critical_at
        self.sensitive_window = float(s.sensitive_window_seconds)
        self.sensitive_at = s.sensitive_at
        self.sensitive_for = float(s.sensitive_for_seconds)
        self.incident_window = float(s.incident_window_seconds)
        self.incident_customers = s.incident_customers
        self.incident_cooldown = float(s.incident_cooldown_seconds)
        self.incident_update = float(s.incident_update_seconds)
        self.cooldown = float(s.cooldown_seconds)
        # How long window entries are kept behind the customer's latest time.
        self.repeat_keep = self.repeat_window + s.late_tolerance_seconds
        self.sensitive_keep = self.sensitive_window + s.late_tolerance_seconds
        # Stale per-service lists and cooldowns are swept once the customer's time moves
        # this far; the lists an event touches are trimmed as it is added.
        self.sweep_every = self.repeat_keep
        self.dedup = s.dedup_event_ids
        self.max_tickets = s.max_open_tickets
        self.recent_alerts = s.recent_alerts
        self.closed_kept = s.closed_tickets_kept
        self.max_window = s.max_window_events
        self.max_services = s.max_service_types
        self.max_cooldowns = COOLDOWN_RULES_PER_SERVICE * s.max_service_types + 1  # docs/rules.md, "Limits"
        self.evidence_limit = s.evidence_limit
        self.contact_ids_kept = s.contact_ids_kept
        self.warning_recent = float(s.warning_recent_alerts_seconds)
        self.w_inbound = float(w.inbound_contact)
        self.w_repeat = float(w.repeat_contact)
        self.w_abandoned = float(w.call_abandoned)
        self.w_long_wait = float(w.long_wait)
        self.w_transferred = float(w.call_transferred)
        self.w_unresolved = float(w.call_unresolved)
        self.w_call_escalated = float(w.call_escalated)
        self.w_complaint = float(w.complaint)
        self.w_reopened = float(w.ticket_reopened)
        self.w_ticket_escalated = float(w.ticket_escalated)
        self.w_breach = float(w.sla_breach)
        self.w_sentiment = float(w.negative_sentiment)
        self.w_fcr = float(w.first_contact_resolution)
        self.w_on_time = float(w.resolved_before_due)
        self.call_outcomes = {
            "transferred": ("call_transferred", self.w_transferred),
            "unresolved": ("call_unresolved", self.w_unresolved),
            "escalated": ("call_escalated", self.w_call_escalated),
        }
        self.survey_weights = _survey_table(w)
        self.repeat_span = span(self.repeat_window)
        self.sensitive_span = span(self.sensitive_window)
        self.sensitive_for_span = span(self.sensitive_for)
        self.incident_span = span(self.incident_window)

    def band(self, score: float) -> int:
        """Risk band level of a score: 0 healthy, 1 at_risk, 2 critical."""
        if score >= self.healthy:
            return 0
        return 2 if score < self.critical else 1


def span(seconds: float) -> str:
    """A window length for humans: ``72 h``, ``30 d``, ``15 min``."""
    if seconds >= 7 * 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _survey_table(w) -> dict[tuple[str, int], tuple[str, float, bool]]:
    """(survey, score) -> (signal name, points, dissatisfied); feedback is one dict lookup."""
    table = {}
    for survey, scores, weigh in (("csat", range(1, 6), _csat), ("nps", range(0, 11), _nps),
                                  ("ces", range(1, 8), _ces)):
        for score in scores:
            name, points = weigh(score, w)
            table[survey, score] = (name, points, score <= DISSATISFIED_AT_OR_BELOW[survey])
    return table


def _csat(score: int, w) -> tuple[str, float]:
    if score <= 2:
        return "csat_low", float(w.csat_low)
    return ("csat_mid", float(w.csat_mid)) if score == 3 else ("csat_high", float(w.csat_high))


def _nps(score: int, w) -> tuple[str, float]:
    if score <= 6:
        return "nps_detractor", float(w.nps_detractor)
    return ("nps_passive", float(w.nps_passive)) if score <= 8 else ("nps_promoter", float(w.nps_promoter))


def _ces(score: int, w) -> tuple[str, float]:
    # CES 4 is neutral: docs/rules.md gives weights for 1-3 and 5-7 only.
    if score <= 3:
        return "ces_low", float(w.ces_low)
    return ("ces_neutral", 0.0) if score == 4 else ("ces_high", float(w.ces_high))
