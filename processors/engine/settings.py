"""Every threshold, weight, window and cooldown of the engine, with the defaults of docs/rules.md.

Durations are in seconds. Users change these in the ``[engine]`` section of the config
file (or ``CXPULSE_ENGINE__...`` environment variables); ``cxpulse replay --settings``
loads a changed copy to see what a new threshold would have done.
"""

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["EngineSettings", "Weights"]

HOUR = 3600.0
DAY = 24 * HOUR


class Weights(BaseModel):
    """Penalty points per signal (negative = credit), docs/rules.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inbound_contact: float = 2
    repeat_contact: float = 8
    call_abandoned: float = 6
    long_wait: float = 4
    call_transferred: float = 3
    call_unresolved: float = 4
    call_escalated: float = 10
    complaint: float = 20
    ticket_reopened: float = 10
    ticket_escalated: float = 10
    sla_breach: float = 15
    csat_low: float = 15  # CSAT 1-2
    csat_mid: float = 4  # CSAT 3
    csat_high: float = -5  # CSAT 4-5
    nps_detractor: float = 20  # NPS 0-6
    nps_passive: float = 0  # NPS 7-8
    nps_promoter: float = -8  # NPS 9-10
    ces_low: float = 8  # CES 1-3
    ces_high: float = -2  # CES 5-7
    negative_sentiment: float = 6
    first_contact_resolution: float = -4
    resolved_before_due: float = -4


class EngineSettings(BaseModel):
    """Configuration of the scoring and rules engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: Weights = Field(default_factory=Weights)
    half_life_seconds: float = Field(14 * DAY, gt=0)
    long_wait_seconds: float = Field(300, ge=0)
    negative_sentiment_below: float = -0.5

    healthy_at_or_above: float = 70
    critical_below: float = 40

    repeat_window_seconds: float = Field(72 * HOUR, gt=0)
    repeat_warning_at: int = Field(3, ge=2)
    repeat_critical_at: int = Field(5, ge=2)

    sensitive_window_seconds: float = Field(30 * DAY, gt=0)
    sensitive_at: int = Field(2, ge=1)
    sensitive_for_seconds: float = Field(90 * DAY, gt=0)

    incident_window_seconds: float = Field(15 * 60, gt=0)
    incident_customers: int = Field(25, ge=2)
    incident_cooldown_seconds: float = Field(HOUR, ge=0)
    # A contact read up to this long after its partition's clock passed its time still
    # counts in every window; incident alerts wait this long behind the watermark.
    incident_late_tolerance_seconds: float = Field(60.0, ge=0)
    incident_max_contacts: int = Field(5000, ge=4)  # per service type, undecided windows (~65 bytes each)
    # While an incident fires (until its cooldown ends) it is re-emitted with the same id when
    # its count grows, at most once per this many seconds of event time; 0: never updated.
    incident_update_seconds: float = Field(60.0, ge=0)

    # A partition with no record for this long (wall time in the worker, record time in a
    # replay) follows the overall stream clock and no longer holds back the watermark.
    partition_idle_seconds: float = Field(30.0, gt=0)

    cooldown_seconds: float = Field(DAY, ge=0)

    # Window lists keep entries this much longer than the window itself, so an event that
    # arrives up to this late (relative to the customer's latest event) still finds every
    # partner in its windows. Later than that, partners may already be trimmed.
    late_tolerance_seconds: float = Field(3 * DAY, ge=0)

    # Bounds that keep per-customer state O(1).
    dedup_event_ids: int = Field(64, ge=1)
    max_open_tickets: int = Field(50, ge=1)
    recent_alerts: int = Field(10, ge=0)
    closed_tickets_kept: int = Field(16, ge=0)  # so a late event cannot reopen a closed ticket
    max_window_events: int = Field(64, ge=5)  # per service type and window list
    max_service_types: int = Field(32, ge=1)  # per customer, most recently used kept
    evidence_limit: int = Field(50, ge=1)  # event ids carried by one alert
    # Contacts named by a contact_id remembered per customer (their start and end records
    # count as one contact); a record of a contact forgotten since counts as a new one.
    contact_ids_kept: int = Field(8, ge=1)
    # Alerts older than this (event time, before the contact) are left out of an agent warning's recent_alerts.
    warning_recent_alerts_seconds: float = Field(30 * DAY, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> "EngineSettings":
        if self.repeat_critical_at < self.repeat_warning_at:
            raise ValueError("repeat_critical_at must be at least repeat_warning_at")
        if self.critical_below > self.healthy_at_or_above:
            raise ValueError("critical_below must not exceed healthy_at_or_above")
        if self.max_window_events < max(self.repeat_critical_at, self.sensitive_at):
            raise ValueError("max_window_events must hold repeat_critical_at and sensitive_at events")
        if self.incident_max_contacts < 2 * self.incident_customers:
            raise ValueError("incident_max_contacts must be at least twice incident_customers")
        return self
