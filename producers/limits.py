"""What keeps content customers content: the engine's thresholds, seen from the generator.

The simulator reads the same :class:`EngineSettings` as the engine, so that ordinary
customers stay clearly below every rule and struggling ones clearly cross them, also
when an operator changes a threshold. Scores are estimated conservatively here (no
decay, no credits): a content customer whose estimate stays within the budget cannot
drop out of the ``healthy`` band.
"""

from typing import Any

from cxpulse.processors.engine.settings import EngineSettings

from .rhythm import HOUR_MS

__all__ = ["ContactLog", "Limits"]

_CALL_OUTCOME_WEIGHT = {
    "abandoned": "call_abandoned",
    "transferred": "call_transferred",
    "unresolved": "call_unresolved",
    "escalated": "call_escalated",
}
_TICKET_ACTION_WEIGHT = {"reopened": "ticket_reopened", "escalated": "ticket_escalated"}
_SURVEY_BANDS = {  # survey -> ((highest score, weight name), ...) scanned in order
    "csat": ((2, "csat_low"), (3, "csat_mid"), (5, "csat_high")),
    "nps": ((6, "nps_detractor"), (8, "nps_passive"), (10, "nps_promoter")),
    "ces": ((3, "ces_low"), (4, None), (7, "ces_high")),
}


class Limits:
    """Thresholds and weights of the engine in the generator's units (milliseconds, points)."""

    def __init__(self, engine: EngineSettings, budget_share: float = 0.8) -> None:
        self.engine = engine
        # A margin on the window, so that rounding or late arrival never tips a pair into three.
        self.repeat_window_ms = int(engine.repeat_window_seconds * 1000)
        self.content_window_ms = self.repeat_window_ms + HOUR_MS
        self.content_contacts = engine.repeat_warning_at - 1
        self.penalty_budget = (100.0 - engine.healthy_at_or_above) * budget_share
        self.incident_window_ms = int(engine.incident_window_seconds * 1000)
        self.sla_margin_ms = 2 * HOUR_MS

    def weight(self, name: str | None) -> float:
        """The penalty of a signal, credits counted as zero (a conservative estimate)."""
        return max(0.0, getattr(self.engine.weights, name)) if name else 0.0

    def penalty(self, body: dict[str, Any]) -> float:
        """Estimated penalty points of one event body, without the repeat-contact surcharge."""
        points = self.weight("complaint") if body.get("is_complaint") else 0.0
        kind = body["event_type"]
        if kind == "call":
            points += self._call_penalty(body)
        elif kind == "ticket":
            points += self.weight("inbound_contact") if body["action"] == "opened" else 0.0
            points += self.weight(_TICKET_ACTION_WEIGHT.get(body["action"]))
        elif body.get("score") is not None:
            points += self.weight(_survey_weight(body["survey"], body["score"]))
        return points

    def _call_penalty(self, body: dict[str, Any]) -> float:
        engine = self.engine
        points = self.weight("inbound_contact") if body["direction"] == "inbound" else 0.0
        points += self.weight(_CALL_OUTCOME_WEIGHT.get(body["outcome"]))
        if body["wait_seconds"] > engine.long_wait_seconds:
            points += self.weight("long_wait")
        sentiment = body.get("sentiment")
        if sentiment is not None and sentiment < engine.negative_sentiment_below:
            points += self.weight("negative_sentiment")
        return points


def _survey_weight(survey: str, score: int) -> str | None:
    for highest, name in _SURVEY_BANDS.get(survey, ()):
        if score <= highest:
            return name
    return None


class ContactLog:
    """One customer's inbound contact times per service type, past and already planned."""

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: dict[str, list[int]] = {}

    def neighbours(self, service_type: str, at_ms: int, within_ms: int) -> int:
        """How many logged contacts on the service type lie within ``within_ms`` of ``at_ms``."""
        return sum(1 for t in self._times.get(service_type, ()) if abs(t - at_ms) < within_ms)

    def add(self, service_type: str, at_ms: int) -> None:
        self._times.setdefault(service_type, []).append(at_ms)

    def forget_before(self, at_ms: int) -> None:
        """Drop contacts that can no longer share a window with anything at or after ``at_ms``."""
        for service_type in list(self._times):
            kept = [t for t in self._times[service_type] if t >= at_ms]
            if kept:
                self._times[service_type] = kept
            else:
                del self._times[service_type]
