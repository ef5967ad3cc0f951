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

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    inbound_contact: float = 2
    """Each inbound contact (call, ticket opened, inbound message)."""
    repeat_contact: float = 8
    """An inbound contact that repeats one on the same service type within the repeat window."""
    call_abandoned: float = 6
    """A call the customer hung up on before an agent answered."""
    long_wait: float = 4
    """A call that waited longer than engine.long_wait_seconds."""
    call_transferred: float = 3
    """A transferred call."""
    call_unresolved: float = 4
    """A call that ended unresolved."""
    call_escalated: float = 10
    """An escalated call."""
    complaint: float = 20
    """A complaint (is_complaint on a call or ticket)."""
    ticket_reopened: float = 10
    """A reopened ticket."""
    ticket_escalated: float = 10
    """An escalated ticket."""
    sla_breach: float = 15
    """A ticket not resolved by its due time."""
    csat_low: float = 15  # CSAT 1-2
    """A CSAT response of 1-2."""
    csat_mid: float = 4  # CSAT 3
    """A CSAT response of 3."""
    csat_high: float = -5  # CSAT 4-5
    """A CSAT response of 4-5 (a credit)."""
    nps_detractor: float = 20  # NPS 0-6
    """An NPS response of 0-6."""
    nps_passive: float = 0  # NPS 7-8
    """An NPS response of 7-8."""
    nps_promoter: float = -8  # NPS 9-10
    """An NPS response of 9-10 (a credit)."""
    ces_low: float = 8  # CES 1-3
    """A CES response of 1-3 (hard to get help)."""
    ces_high: float = -2  # CES 5-7
    """A CES response of 5-7 (a credit)."""
    negative_sentiment: float = 6
    """A contact whose sentiment is below engine.negative_sentiment_below."""
    first_contact_resolution: float = -4
    """A call resolved at the first contact (a credit)."""
    resolved_before_due: float = -4
    """A ticket resolved before its due time (a credit)."""


class EngineSettings(BaseModel):
    """Configuration of the scoring and rules engine."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    weights: Weights = Field(default_factory=Weights)
    """Penalty points per signal ([engine.weights]); negative values are credits."""
    half_life_seconds: float = Field(default=14 * DAY, gt=0)
    """A signal's penalty halves every half-life (14 days)."""
    long_wait_seconds: float = Field(default=300, ge=0)
    """A call that waited longer than this counts as a long wait."""
    negative_sentiment_below: float = -0.5
    """A sentiment below this (-1..1) counts as negative."""

    healthy_at_or_above: float = 70
    """Risk band `healthy` at or above this score."""
    critical_below: float = 40
    """Risk band `critical` below this score; `at_risk` in between."""

    repeat_window_seconds: float = Field(default=72 * HOUR, gt=0)
    """The window of repeat_contact (72 h)."""
    repeat_warning_at: int = Field(default=3, ge=2)
    """Inbound contacts on one service type in the window that raise a repeat_contact warning."""
    repeat_critical_at: int = Field(default=5, ge=2)
    """... and that make it critical."""

    sensitive_window_seconds: float = Field(default=30 * DAY, gt=0)
    """The window in which complaints and dissatisfied responses make a customer sensitive (30 days)."""
    sensitive_at: int = Field(default=2, ge=1)
    """Complaints or dissatisfied responses on one service type in the window that make a customer sensitive."""
    sensitive_for_seconds: float = Field(default=90 * DAY, gt=0)
    """How long a customer stays sensitive (90 days)."""

    incident_window_seconds: float = Field(default=15 * 60, gt=0)
    """The window of the incident rule (15 min)."""
    incident_customers: int = Field(default=25, ge=2)
    """Distinct customers contacting about one service type in the window that make an incident."""
    incident_cooldown_seconds: float = Field(default=HOUR, ge=0)
    """One incident alert per service type per this long."""
    # A contact read up to this long after its partition's clock passed its time still
    # counts in every window; incident alerts wait this long behind the watermark.
    incident_late_tolerance_seconds: float = Field(default=60.0, ge=0)
    """A contact this late still counts in every window; incident alerts wait this long behind the watermark."""
    incident_max_contacts: int = Field(default=5000, ge=4)  # per service type, undecided windows (~65 bytes each)
    """Contacts held per service type for undecided windows (about 65 bytes each)."""
    # While an incident fires (until its cooldown ends) it is re-emitted with the same id when
    # its count grows, at most once per this many seconds of event time; 0: never updated.
    incident_update_seconds: float = Field(default=60.0, ge=0)
    """A firing incident whose count grows is re-emitted with its id at most this often (event time); 0: never."""

    # A partition with no record for this long (wall time in the worker, record time in a
    # replay) follows the overall stream clock and no longer holds back the watermark.
    partition_idle_seconds: float = Field(default=30.0, gt=0)
    """A partition silent this long follows the overall stream clock and stops holding back the watermark."""

    # The stream clock (docs/rules.md, "The stream clock"): a partition's clock moves to an
    # event's time only up to the record's Kafka timestamp plus this lead, so one event dated
    # ahead of the moment it was produced cannot breach other customers' tickets.
    stream_clock_lead_seconds: float = Field(default=0.0, ge=0)
    """How far ahead of a record's Kafka timestamp its event may move the stream clock (0: up to the record time)."""
    # A ticket breaches by the stream clock only once the clock is this far past its due time
    # (a customer's own later event still breaches it at once), so a ticket read behind a
    # skewed clock has time to be resolved before sla_breach fires.
    sla_grace_seconds: float = Field(default=60.0, ge=0)
    """How far the stream clock must pass a ticket's due time before it breaches (a customer's own later event breaches at once)."""

    cooldown_seconds: float = Field(default=DAY, ge=0)
    """The same rule, customer and service type fire again only after this long (unless severity rises)."""

    # Window lists keep entries this much longer than the window itself, so an event that
    # arrives up to this late (relative to the customer's latest event) still finds every
    # partner in its windows. Later than that, partners may already be trimmed.
    late_tolerance_seconds: float = Field(default=3 * DAY, ge=0)
    """How late an event may be (behind the customer's latest) and still find every partner in its windows."""

    # Bounds that keep per-customer state O(1).
    dedup_event_ids: int = Field(default=64, ge=1)
    """Event ids remembered per customer; a repeated id is a duplicate and changes nothing."""
    max_open_tickets: int = Field(default=50, ge=1)
    """Open tickets kept per customer (the oldest are dropped beyond it)."""
    recent_alerts: int = Field(default=10, ge=0)
    """Recent alerts kept per customer (shown by the read API)."""
    closed_tickets_kept: int = Field(default=16, ge=0)  # so a late event cannot reopen a closed ticket
    """Closed ticket ids kept per customer, so that a late event cannot reopen a closed ticket."""
    max_window_events: int = Field(default=64, ge=5)  # per service type and window list
    """Events kept per service type and window list."""
    max_service_types: int = Field(default=32, ge=1)  # per customer, most recently used kept
    """Service types kept per customer (the most recently used)."""
    evidence_limit: int = Field(default=50, ge=1)  # event ids carried by one alert
    """Event ids carried by one alert as its evidence."""
    contact_ids_kept: int = Field(default=8, ge=1)
    """Contacts named by a contact_id remembered per customer (their start and end records count as one contact); a record of a contact forgotten since counts as a new one."""
    warning_recent_alerts_seconds: float = Field(default=30 * DAY, gt=0)
    """Alerts older than this (event time, before the contact) are left out of an agent warning's recent_alerts."""

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
