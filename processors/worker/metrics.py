"""Prometheus metrics of ``cxpulse worker``, served on its web port at ``/metrics``.

The worker calls :class:`WorkerMetrics` once per batch with what the batch did; nothing
here runs per record inside the processor. Counters and histograms live in plain dicts
and lists (:mod:`cxpulse.processors.worker.metric_families`) and become Prometheus families
when scraped. Labels are bounded (docs/operations.md): event type, channel, service
type (beyond ``[metrics] service_types``: ``other``), rule, severity, risk band, segment,
score range, account action — never a customer id. ``docs/operations.md`` lists every metric.

Sums across workers are exact: each worker counts the records it processed and the
customers on the partitions it owns.
"""

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from cxpulse import __version__
from cxpulse.schemas.events import CHURN_ACTIONS

from .census import CustomerCensus
from .metric_families import Buckets, Tally

__all__ = ["AGENTS", "OTHER", "WorkerMetrics", "worker_registry"]

OTHER = "other"
NONE = "none"  # label value of a missing segment (incident alerts have none)
AGENTS = ("score_events", "detect_incidents", "check_sla")
INCIDENTS_REMEMBERED = 1024  # incident ids already counted (an incident fires at most once per cooldown)

EVENT_TIME_LAG_BOUNDS = (1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400,
                         7 * 86400)  # fmt: skip
LATENCY_BOUNDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
BATCH_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

_EXPERIENCE_LABELS = ("service_type", "channel")
# Engine signals of a dissatisfied survey response.
_DISSATISFIED = frozenset({"csat_low", "nps_detractor", "ces_low"})


class WorkerMetrics(Collector):
    """Everything ``/metrics`` shows about one worker's processing; registers itself.

    ``band`` maps a score to its risk band (``Engine.band``). ``service_types`` are the
    service types that keep their own label value.
    """

    def __init__(self, registry: CollectorRegistry, service_types: Iterable[str], band: Any,
                 app_id: str = "cxpulse") -> None:
        self.known_services = frozenset(s.lower() for s in service_types)
        self.app_id = app_id
        self.census = CustomerCensus(band)
        self.sla_tickets = 0
        self.stream_clock = 0.0
        self._build()
        registry.register(self)

    def _build(self) -> None:
        self.events = Tally("cxpulse_events", "Valid events processed (duplicates included), by type, channel "
                            "and service type.", ("event_type", "channel", "service_type"))
        self.invalid = Tally("cxpulse_events_invalid", "Records that failed validation and went to the "
                             "dead-letter topic.", (), [()])
        self.failed = Tally("cxpulse_records_failed", "Valid records whose processing raised: dead-lettered "
                            "(counted in cxpulse_events_invalid too), processing went on; by exception type.",
                            ("kind",))
        self.duplicates = Tally("cxpulse_events_duplicate", "Events whose event_id was seen before (they "
                                "change nothing), by type.", ("event_type",),
                                [(t,) for t in ("call", "ticket", "feedback", "account", "contact_started")])
        self.redelivered = Tally("cxpulse_records_redelivered", "Records read again (after a rebalance or a "
                                 "restart, before their offsets were committed) that their customer's stored "
                                 "state had applied already: skipped, nothing emitted.", (), [()])
        self.contacts = Tally("cxpulse_inbound_contacts", "Inbound contacts (inbound calls, opened tickets).",
                              _EXPERIENCE_LABELS)
        self.repeats = Tally("cxpulse_repeat_contacts", "Inbound contacts with an earlier one on the same "
                             "service type inside the repeat window.", _EXPERIENCE_LABELS)
        self.complaints = Tally("cxpulse_complaints", "Complaints (is_complaint, once per ticket).", _EXPERIENCE_LABELS)
        self.dissatisfied = Tally("cxpulse_dissatisfied_responses", "Dissatisfied survey responses (CSAT <= 2, "
                                  "NPS <= 6, CES <= 3).", _EXPERIENCE_LABELS)
        self.breaches = Tally("cxpulse_sla_breaches", "Tickets not resolved by their due time.", ("service_type",))
        self.alerts = Tally("cxpulse_alerts", "Alerts raised (status firing), by rule, severity, service type "
                            "and segment.", ("rule", "severity", "service_type", "segment"))
        self.resolved = Tally("cxpulse_alerts_resolved", "Alerts the engine resolved (status resolved), by rule "
                              "and service type.", ("rule", "service_type"))
        self.churned = Tally("cxpulse_churned_customers", "Account events saying a customer left, by action, "
                             "segment and the risk band the customer was in at that moment.",
                             ("action", "segment", "risk_band"))
        self.reactivated = Tally("cxpulse_reactivated_customers", "Account events saying a customer came back, "
                                 "by segment.", ("segment",))
        # An incident is emitted again with its id while its count grows: count it once.
        self._incidents_counted: OrderedDict[str, None] = OrderedDict()
        self.lag = Buckets("cxpulse_event_time_lag_seconds", "Wall-clock time when an event was processed minus "
                           "its occurred_at.", EVENT_TIME_LAG_BOUNDS)
        self.latency = Buckets("cxpulse_event_latency_seconds", "Seconds from an event's Kafka record timestamp "
                               "until the worker had delivered its outputs.", LATENCY_BOUNDS)
        self.batch_seconds = {agent: Buckets("cxpulse_batch_duration_seconds", "", BATCH_BOUNDS) for agent in AGENTS}
        # Engine signal name -> the counts it moves (keyed by (service_type, channel)).
        self._by_signal = {"inbound_contact": self.contacts.counts, "repeat_contact": self.repeats.counts,
                           "complaint": self.complaints.counts,
                           **{name: self.dissatisfied.counts for name in _DISSATISFIED}}

    # -- what the worker calls ---------------------------------------------------------

    def observe_failures(self, kinds: Iterable[str]) -> None:
        """Records whose processing raised, by exception type (at most 32 types, then ``other``)."""
        counts = self.failed.counts
        for kind in kinds:
            key = (kind,)
            if key not in counts and len(counts) >= 32:
                key = (OTHER,)
            counts[key] = counts.get(key, 0) + 1

    def observe_batch(self, observed: Sequence[tuple[Any, Any, Any]], invalid: int,
                      changed: Mapping[bytes, tuple[Any, int]], seconds: float, now: float,
                      agent: str = "score_events", redelivered: int = 0) -> None:
        """One batch of the ``score_events`` agent (or an SLA sweep: ``agent="check_sla"``).

        ``observed``: ``(record timestamp, event, StepResult)`` per valid event
        (duplicates included) and ``(None, None, StepResult)`` per SLA check that found
        a breach. ``changed``: the batch's changed customers, ``key -> (state, partition)``.
        ``seconds``: the batch's run time; ``now``: wall-clock epoch seconds at its end.
        ``redelivered``: records read again that their customers' states had applied (not in ``observed``).
        """
        if invalid:
            self.invalid.add((), invalid)
        if redelivered:
            self.redelivered.add((), redelivered)
        # The loop runs once per event: locals instead of attribute lookups and method calls
        # (this halves its cost; bench/bench_metrics.py).
        known, events, duplicates = self.known_services, self.events.counts, self.duplicates.counts
        lag, latency = self.lag, self.latency
        lag_bounds, lag_counts, latency_bounds, latency_counts = lag.bounds, lag.counts, latency.bounds, latency.counts
        lag_sum = latency_sum = 0.0
        by_signal, outcome = self._by_signal, self._outcome
        for timestamp, event, result in observed:
            if event is None:
                outcome(result, None, None)
                continue
            svc = event.service_type
            if svc not in known:
                svc = OTHER
            key = (event.event_type, event.channel, svc)
            events[key] = events.get(key, 0) + 1
            age = now - result.at
            lag_counts[bisect_left(lag_bounds, age)] += 1
            lag_sum += age
            if timestamp:
                age = now - timestamp
                latency_counts[bisect_left(latency_bounds, age)] += 1
                latency_sum += age
            if result.duplicate:
                kind = (event.event_type,)
                duplicates[kind] = duplicates.get(kind, 0) + 1
                continue
            signals = result.signals
            if signals:
                pair = (svc, event.channel)
                for signal in signals:
                    counts = by_signal.get(signal)
                    if counts is not None:
                        counts[pair] = counts.get(pair, 0) + 1
                if "sla_breach" in signals:
                    self._breaches(result, svc)
            elif event.event_type == "account":  # an outcome carries no signal
                self._account(event, result)
            if result.alerts:
                self._alerts(result.alerts)
        lag.total += lag_sum
        latency.total += latency_sum
        self.census.update(changed)
        self.batch_seconds[agent].observe(seconds)

    def observe_incidents(self, alerts: Iterable[Any], seconds: float) -> None:
        """One batch of the ``detect_incidents`` agent and the incident alerts it raised."""
        self._alerts(alerts)
        self.batch_seconds["detect_incidents"].observe(seconds)

    def observe_state(self, sla_tickets: int, stream_clock: float) -> None:
        """The SLA index's size and the stream clock (event time), after a batch or sweep."""
        self.sla_tickets = sla_tickets
        self.stream_clock = stream_clock

    def recount(self, states: Iterable[tuple[Any, int]], owned_partitions: Iterable[int]) -> Iterable[tuple[Any, int]]:
        """Pass-through over the recovered table that rebuilds the customer gauges (see ``CustomerCensus``)."""
        owned = frozenset(owned_partitions)
        return self.census.recount(states, owned.__contains__)

    # -- per result --------------------------------------------------------------------

    def _outcome(self, result: Any, svc: str | None, channel: str | None) -> None:
        """An SLA check's result (no event: no service type or channel for the experience counters)."""
        if result.signals and "sla_breach" in result.signals:
            self._breaches(result, svc)
        if result.alerts:
            self._alerts(result.alerts)

    def _account(self, event: Any, result: Any) -> None:
        # The band is the customer's when it left: an account event moves no score.
        if event.action in CHURN_ACTIONS:
            self.churned.add((event.action, event.segment, result.band_after))
        else:
            self.reactivated.add((event.segment,))

    def _breaches(self, result: Any, svc: str | None) -> None:
        # A signal names no ticket: the breach alerts of the same step carry the service
        # types; a breach the cooldown kept silent counts under the event's service type
        # (or ``other`` when the stream clock found it).
        found = [self._service(a.service_type) for a in result.alerts
                 if a.rule == "sla_breach" and a.status == "firing"]
        for i in range(result.signals.count("sla_breach")):
            self.breaches.add((found[i] if i < len(found) else svc or OTHER,))

    def _alerts(self, alerts: Iterable[Any]) -> None:
        for alert in alerts:
            svc = self._service(alert.service_type)
            if alert.rule == "incident" and self._counted_before(alert.alert_id):
                continue
            if alert.status == "firing":
                self.alerts.add((alert.rule, alert.severity, svc, alert.segment or NONE))
            else:
                self.resolved.add((alert.rule, svc))

    def _counted_before(self, alert_id: str) -> bool:
        seen = self._incidents_counted
        if alert_id in seen:
            return True
        seen[alert_id] = None
        if len(seen) > INCIDENTS_REMEMBERED:
            seen.popitem(last=False)
        return False

    def _service(self, svc: str) -> str:
        return svc if svc in self.known_services else OTHER

    # -- scrape ------------------------------------------------------------------------

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily("cxpulse_worker_info", "Always 1: the worker's app id and cxpulse version.",
                                 labels=["app_id", "version"])
        info.add_metric([self.app_id, __version__], 1)
        yield info
        for tally in (self.events, self.invalid, self.failed, self.duplicates, self.redelivered, self.contacts, self.repeats, self.complaints,
                      self.dissatisfied, self.breaches, self.alerts, self.resolved, self.churned, self.reactivated):
            yield tally.family()
        yield self.lag.family()
        yield self.latency.family()
        batches = HistogramMetricFamily("cxpulse_batch_duration_seconds", "Run time of one batch, by agent.",
                                        labels=["agent"])
        for agent, buckets in self.batch_seconds.items():
            buckets.add_to(batches, [agent])
        yield batches
        yield from self._census()
        yield GaugeMetricFamily("cxpulse_sla_tickets_tracked", "Open tickets with a due time this worker watches.",
                                value=self.sla_tickets)
        yield GaugeMetricFamily("cxpulse_stream_clock_timestamp_seconds", "This worker's stream clock: the "
                                "largest occurred_at seen (event time, epoch seconds).", value=self.stream_clock)

    def _census(self) -> Iterable[Metric]:
        census = self.census
        customers = GaugeMetricFamily("cxpulse_customers", "Customers this worker owns, by risk band and segment.",
                                      labels=["risk_band", "segment"])
        for band, segment, count in census.band_segment_counts():
            customers.add_metric([band, segment], count)
        yield customers
        scores = GaugeMetricFamily("cxpulse_customers_by_score", "Customers this worker owns, by experience score "
                                   "range (\"90-100\" includes 100).", labels=["score_range"])
        for score_range, count in census.score_range_counts():
            scores.add_metric([score_range], count)
        yield scores


def worker_registry() -> CollectorRegistry:
    """A fresh registry with the process, platform and GC collectors a worker exposes."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
