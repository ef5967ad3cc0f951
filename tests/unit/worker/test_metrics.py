"""Each worker metric moves as expected for a scripted event sequence (fresh registry per test)."""

import itertools

import pytest
from prometheus_client import generate_latest

from cxpulse.processors.engine import EngineSettings

from .conftest import DAY, HOUR, T0

T0_EPOCH = T0.timestamp()


def test_events_are_counted_by_type_channel_and_service_type(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory(service_types=["billing", "repair"])
    pipeline.batch([
        events.call(0, channel="phone", service_type="billing"),
        events.call(10, channel="chat", service_type="billing", customer="C-2"),
        events.ticket(20, "T-1", channel="web", service_type="repair"),
        events.feedback(30, 5, channel="app", service_type="Billing"),  # compared lower-case
    ])

    assert pipeline.value("cxpulse_events_total", event_type="call", channel="phone", service_type="billing") == 1
    assert pipeline.value("cxpulse_events_total", event_type="call", channel="chat", service_type="billing") == 1
    assert pipeline.value("cxpulse_events_total", event_type="ticket", channel="web", service_type="repair") == 1
    assert pipeline.value("cxpulse_events_total", event_type="feedback", channel="app", service_type="billing") == 1


def test_records_read_again_are_counted_apart_and_not_as_events(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    stream = [events.call(i * 60) for i in range(3)]
    assert pipeline.value("cxpulse_records_redelivered_total") == 0  # present from the start
    pipeline.batch(stream)
    pipeline.offsets = itertools.count()  # read again from offset 0, as after a restart before a commit
    pipeline.batch([*stream, events.call(300)])

    assert pipeline.value("cxpulse_records_redelivered_total") == 3
    assert pipeline.value("cxpulse_events_duplicate_total", event_type="call") == 0  # not sent twice: read twice
    assert pipeline.value("cxpulse_events_total", event_type="call", channel="phone", service_type="billing") == 4


def test_unknown_service_types_collapse_into_other(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory(service_types=["billing"])
    pipeline.batch([events.call(0, service_type="spaceships"), events.call(1, service_type="time-travel",
                                                                            customer="C-2")])

    assert pipeline.value("cxpulse_events_total", event_type="call", channel="phone", service_type="other") == 2
    text = generate_latest(pipeline.registry).decode()
    assert "spaceships" not in text and "time-travel" not in text


def test_invalid_records_and_duplicates(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    first = events.call(0)
    assert pipeline.value("cxpulse_events_invalid_total") == 0  # present from the start
    pipeline.batch([first, b"{not json", dict(first), events.feedback(5, 4, event_id="e1-again")])
    pipeline.batch([dict(first), b"[]"])

    assert pipeline.value("cxpulse_events_invalid_total") == 2
    assert pipeline.value("cxpulse_events_duplicate_total", event_type="call") == 2
    assert pipeline.value("cxpulse_events_duplicate_total", event_type="feedback") == 0
    # duplicates are valid events: they count in the throughput too
    assert pipeline.value("cxpulse_events_total", event_type="call", channel="phone", service_type="billing") == 3


def test_contacts_repeat_contacts_and_the_repeat_alert(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.call(0), events.call(HOUR, channel="chat"), events.ticket(2 * HOUR, "T-9", channel="web")])

    labels = {"service_type": "billing"}
    assert pipeline.value("cxpulse_inbound_contacts_total", channel="phone", **labels) == 1
    assert pipeline.value("cxpulse_inbound_contacts_total", channel="chat", **labels) == 1
    assert pipeline.value("cxpulse_inbound_contacts_total", channel="web", **labels) == 1
    assert pipeline.value("cxpulse_repeat_contacts_total", channel="phone", **labels) == 0
    assert pipeline.value("cxpulse_repeat_contacts_total", channel="chat", **labels) == 1
    assert pipeline.value("cxpulse_repeat_contacts_total", channel="web", **labels) == 1
    assert pipeline.value("cxpulse_alerts_total", rule="repeat_contact", severity="warning", segment="standard",
                          **labels) == 1


def test_complaints_and_dissatisfied_responses(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([
        events.call(0, complaint=True, service_type="repair"),
        events.feedback(HOUR, 1, service_type="repair", channel="email"),
        events.feedback(2 * HOUR, 9, survey="nps", service_type="repair", channel="email"),
    ])

    assert pipeline.value("cxpulse_complaints_total", service_type="repair", channel="phone") == 1
    assert pipeline.value("cxpulse_dissatisfied_responses_total", service_type="repair", channel="email") == 1
    assert pipeline.value("cxpulse_alerts_total", rule="detractor", severity="warning", service_type="repair",
                          segment="standard") == 1
    # the complaint and the detractor make the customer sensitive (2 grievances in 30 days)
    assert pipeline.value("cxpulse_alerts_total", rule="sensitive_customer", severity="warning",
                          service_type="repair", segment="standard") == 1


def test_segment_raises_severity_and_is_a_label(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.feedback(0, 1, segment="vip")])

    assert pipeline.value("cxpulse_alerts_total", rule="detractor", severity="critical", service_type="billing",
                          segment="vip") == 1
    assert pipeline.value("cxpulse_customers", risk_band="healthy", segment="vip") == 1


def test_sla_breach_found_by_the_stream_clock(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.ticket(0, "T-1", due=HOUR, service_type="repair")])
    assert pipeline.value("cxpulse_sla_breaches_total", service_type="repair") == 0

    # another customer's event moves the stream clock past the due time: the sweep breaches T-1
    pipeline.batch([events.call(2 * HOUR, customer="C-2", service_type="billing")])

    assert pipeline.value("cxpulse_sla_breaches_total", service_type="repair") == 1
    assert pipeline.value("cxpulse_sla_breaches_total", service_type="billing") == 0
    assert pipeline.value("cxpulse_alerts_total", rule="sla_breach", severity="warning", service_type="repair",
                          segment="standard") == 1


def test_sla_breach_found_by_a_late_resolution_and_resolved(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.ticket(0, "T-1", due=HOUR, service_type="outage"),
                    events.ticket(3 * HOUR, "T-1", action="resolved", service_type="outage")])

    assert pipeline.value("cxpulse_sla_breaches_total", service_type="outage") == 1
    assert pipeline.value("cxpulse_alerts_total", rule="sla_breach", severity="warning", service_type="outage",
                          segment="standard") == 1
    assert pipeline.value("cxpulse_alerts_resolved_total", rule="sla_breach", service_type="outage") == 1


def test_customers_by_band_segment_and_score_move_with_the_score(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.call(0, customer="A"), events.call(0, customer="B", segment="key")])

    assert pipeline.value("cxpulse_customers", risk_band="healthy", segment="standard") == 1
    assert pipeline.value("cxpulse_customers", risk_band="healthy", segment="key") == 1
    assert pipeline.value("cxpulse_customers_by_score", score_range="90-100") == 2  # 100 - 2 points

    # A: a repeat call (2 + 8) with a complaint (20), CSAT 1 (15), NPS 0 (20): 100 - 2 - 65 = 33, critical
    pipeline.batch([events.call(60, customer="A", complaint=True),
                    events.feedback(120, 1, customer="A"), events.feedback(180, 0, survey="nps", customer="A")])

    assert pipeline.value("cxpulse_customers", risk_band="healthy", segment="standard") == 0
    assert pipeline.value("cxpulse_customers", risk_band="at_risk", segment="standard") == 0
    assert pipeline.value("cxpulse_customers", risk_band="critical", segment="standard") == 1
    assert pipeline.value("cxpulse_customers_by_score", score_range="90-100") == 1
    assert pipeline.value("cxpulse_customers_by_score", score_range="30-40") == 1
    assert sum(pipeline.value("cxpulse_customers_by_score", score_range=f"{lo}-{lo + 10}")
               for lo in range(0, 100, 10)) == 2
    assert pipeline.value("cxpulse_alerts_total", rule="churn_risk", severity="critical", service_type="billing",
                          segment="standard") == 1


def test_score_range_boundaries(metrics_pipeline_factory, events):
    # a lone CSAT 5 credits points: the score stays clamped at exactly 100
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.feedback(0, 5)])

    assert pipeline.value("cxpulse_customers_by_score", score_range="90-100") == 1


def test_event_time_lag_and_latency_histograms(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    occurred = T0_EPOCH + 100
    pipeline.batch([events.call(100), events.call(100, customer="C-2")],
                   now=occurred + 2 * HOUR, record_time=occurred + 2 * HOUR - 0.2)

    assert pipeline.value("cxpulse_event_time_lag_seconds_count") == 2
    assert pipeline.value("cxpulse_event_time_lag_seconds_sum") == pytest.approx(2 * 2 * HOUR)
    assert pipeline.value("cxpulse_event_time_lag_seconds_bucket", le="3600.0") == 0
    assert pipeline.value("cxpulse_event_time_lag_seconds_bucket", le="10800.0") == 2
    assert pipeline.value("cxpulse_event_latency_seconds_bucket", le="0.1") == 0
    assert pipeline.value("cxpulse_event_latency_seconds_bucket", le="0.25") == 2
    assert pipeline.value("cxpulse_event_latency_seconds_bucket", le="+Inf") == 2
    assert pipeline.value("cxpulse_batch_duration_seconds_count", agent="score_events") == 1


def test_incident_alerts_are_counted(metrics_pipeline_factory, events):
    settings = EngineSettings(incident_customers=3)
    pipeline = metrics_pipeline_factory(engine=settings)
    pipeline.batch([events.call(i * 60, customer=f"O-{i}", service_type="outage") for i in range(3)]
                   + [events.call(200, customer="B-1", service_type="billing")])  # the watermark passes 120 s + 60 s

    assert pipeline.detect_incidents() == 1
    assert pipeline.value("cxpulse_alerts_total", rule="incident", severity="critical", service_type="outage",
                          segment="none") == 1
    assert pipeline.value("cxpulse_batch_duration_seconds_count", agent="detect_incidents") == 1


def test_an_incident_updated_with_its_growing_count_is_counted_once(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory(engine=EngineSettings(incident_customers=3))
    pipeline.batch([events.call(t, customer=f"O-{i}", service_type="outage") for i, t in enumerate((0, 60, 120, 150, 170))]
                   + [events.call(400, customer="B-1", service_type="billing")])  # past the update at 180 s + 60 s

    assert pipeline.detect_incidents() == 2  # raised with 3 customers, updated with 5
    assert pipeline.value("cxpulse_alerts_total", rule="incident", severity="critical", service_type="outage",
                          segment="none") == 1


def test_recount_counts_only_owned_partitions(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory(partitions=4)
    pipeline.batch([events.call(0, customer=f"C-{i}") for i in range(40)])
    assert sum(pipeline.value("cxpulse_customers", risk_band=b, segment="standard")
               for b in ("healthy", "at_risk", "critical")) == 40

    from cxpulse.processors.engine import CustomerState
    from cxpulse.processors.worker.faustapp.writer import key_partition

    states = [(CustomerState.from_bytes(v), key_partition(k, 4)) for k, v in pipeline.scoring.store.items()]
    passed = list(pipeline.metrics.recount(states, owned_partitions=[0, 1]))

    assert len(passed) == 40  # a pass-through: the SLA clock sees every state
    owned = sum(1 for _, p in states if p in (0, 1))
    assert 0 < owned < 40
    assert pipeline.value("cxpulse_customers", risk_band="healthy", segment="standard") == owned
    assert sum(pipeline.value("cxpulse_customers_by_score", score_range=f"{lo}-{lo + 10}")
               for lo in range(0, 100, 10)) == owned


def test_no_customer_id_in_any_label(metrics_pipeline_factory, events):
    pipeline = metrics_pipeline_factory()
    pipeline.batch([events.call(t * 60, customer="secret-customer-42") for t in range(6)]
                   + [events.ticket(0, "T-1", customer="secret-customer-42", due=60)]
                   + [events.call(DAY, customer="other-7")])

    text = generate_latest(pipeline.registry).decode()
    assert "secret-customer-42" not in text and "other-7" not in text
    assert pipeline.value("cxpulse_alerts_total", rule="repeat_contact", severity="critical",
                          service_type="billing", segment="standard") == 1


def test_churned_customers_are_counted_by_action_segment_and_their_band_when_they_left(metrics_pipeline_factory,
                                                                                      events):
    pipeline = metrics_pipeline_factory()
    struggling = [events.call(i * HOUR, customer="C-2", segment="vip", outcome="unresolved", complaint=True)
                  for i in range(3)]
    pipeline.batch([events.call(0), *struggling, events.account(DAY, "cancelled"),
                    events.account(DAY, "downgraded", customer="C-2", segment="vip")])
    cancelled = events.account(2 * DAY, "cancelled", customer="C-3")
    pipeline.batch([cancelled, dict(cancelled), events.account(3 * DAY, "reactivated", customer="C-3")])

    assert pipeline.value("cxpulse_churned_customers_total", action="cancelled", segment="standard",
                          risk_band="healthy") == 2  # the duplicate counts once
    assert pipeline.value("cxpulse_churned_customers_total", action="downgraded", segment="vip",
                          risk_band="critical") == 1
    assert pipeline.value("cxpulse_reactivated_customers_total", segment="standard") == 1
    assert pipeline.value("cxpulse_events_duplicate_total", event_type="account") == 1
    assert pipeline.value("cxpulse_events_total", event_type="account", channel="web", service_type="other") == 5
