"""An alert from cx.alerts as Alertmanager's v2 API alert."""

from datetime import datetime, timezone

import pytest

from cxpulse.alerts.payload import alert_payload, customer_link_template, identity_labels
from cxpulse.schemas import Alert

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
URL = "http://worker:6066/customers/{customer_id}"


def _alert(alert_factory, **fields) -> Alert:
    return Alert.model_validate(alert_factory(**fields))


def test_labels_identify_and_route_the_alert(alert_factory):
    payload = alert_payload(_alert(alert_factory, alert_id="cxa-7", customer_id="C-7", segment="vip",
                                   severity="critical"), NOW, 3600, URL)

    assert payload["labels"] == {"alertname": "repeat_contact", "alert_id": "cxa-7", "severity": "critical",
                                 "service_type": "billing", "segment": "vip", "customer_id": "C-7"}


def test_annotations_carry_what_a_supervisor_reads(alert_factory):
    # 43.456 shows as 43.4: floored like the alert summary, so a score never reads as the next band
    payload = alert_payload(_alert(alert_factory, customer_id="C-7", score=43.456, risk_band="at_risk",
                                   evidence=["e1", "e2"], summary="C-7 contacted billing 3 times"), NOW, 3600, URL)

    assert payload["annotations"] == {
        "summary": "C-7 contacted billing 3 times", "evidence": "e1, e2", "score": "43.4", "risk_band": "at_risk",
        "triggered_at": "2025-03-03T09:00:00.000Z", "customer_url": "http://worker:6066/customers/C-7",
    }
    assert payload["generatorURL"] == "http://worker:6066/customers/C-7"


def test_firing_alert_starts_when_triggered_and_ends_after_the_resolve_timeout(alert_factory):
    payload = alert_payload(_alert(alert_factory, triggered_at="2025-03-01T08:00:00+01:00",
                                   emitted_at="2025-03-03T09:30:00+00:00"), NOW, 4 * 3600, URL)

    assert payload["startsAt"] == "2025-03-01T07:00:00.000Z"
    assert payload["endsAt"] == "2025-03-03T13:30:00.000Z"  # emitted + 4 h: expires on its own


def test_trigger_time_after_emission_starts_at_emission(alert_factory):
    # event time may run ahead of the wall clock (clock skew): never start in the future of emission
    payload = alert_payload(_alert(alert_factory, triggered_at="2025-03-03T12:00:00+00:00",
                                   emitted_at="2025-03-03T09:30:00+00:00"), NOW, 60, URL)

    assert payload["startsAt"] == "2025-03-03T09:30:00.000Z"
    assert payload["endsAt"] == "2025-03-03T09:31:00.000Z"


def test_resolved_alert_ends_now_with_the_labels_it_fired_with(alert_factory):
    fired = _alert(alert_factory, alert_id="cxa-9", segment="standard")
    resolved = _alert(alert_factory, alert_id="cxa-9", segment="vip", status="resolved")
    payload = alert_payload(resolved, NOW, 3600, URL, labels=identity_labels(fired))

    assert payload["endsAt"] == "2025-03-03T10:00:00.000Z"
    assert payload["labels"]["segment"] == "standard"
    assert payload["labels"]["alert_id"] == "cxa-9"


def test_incident_has_no_customer_label_and_no_link(alert_factory):
    incident = _alert(alert_factory, rule="incident", severity="critical", customer_id=None, segment=None,
                      score=None, risk_band=None, summary="30 customers contacted outage within 15 min",
                      service_type="outage")
    payload = alert_payload(incident, NOW, 3600, URL)

    assert payload["labels"] == {"alertname": "incident", "alert_id": incident.alert_id, "severity": "critical",
                                 "service_type": "outage"}
    assert "customer_url" not in payload["annotations"] and "generatorURL" not in payload
    assert "score" not in payload["annotations"]


def test_customer_ids_are_quoted_in_links_and_links_can_be_off(alert_factory):
    alert = _alert(alert_factory, customer_id="a:b.c")

    assert alert_payload(alert, NOW, 60, URL)["annotations"]["customer_url"].endswith("/customers/a%3Ab.c")
    assert "customer_url" not in alert_payload(alert, NOW, 60, "")["annotations"]


@pytest.mark.parametrize("missing_emission", [True])
def test_alert_without_emission_time_counts_from_now(alert_factory, missing_emission):
    payload = alert_payload(_alert(alert_factory, emitted_at=None), NOW, 600, URL)

    assert payload["endsAt"] == "2025-03-03T10:10:00.000Z"


def test_by_default_an_alert_links_nowhere_rather_than_to_the_workers_read_api(alert_factory):
    # The worker's /customers/{id} needs a read token: a link a browser follows there gets 401.
    from cxpulse.alerts.settings import AlertsSettings, ConsoleSettings

    template = customer_link_template(AlertsSettings(), ConsoleSettings())
    payload = alert_payload(_alert(alert_factory, customer_id="C-7"), NOW, 60, template)

    assert template == "" and "customer_url" not in payload["annotations"] and "generatorURL" not in payload


def test_with_a_console_url_an_alert_links_to_the_consoles_customer_view(alert_factory):
    from cxpulse.alerts.settings import AlertsSettings, ConsoleSettings

    console = ConsoleSettings(public_url="https://cx-console.example.org/supervisors")
    template = customer_link_template(AlertsSettings(), console)
    payload = alert_payload(_alert(alert_factory, customer_id="a:b.c"), NOW, 60, template)

    link = "https://cx-console.example.org/supervisors/#/customer/a%3Ab.c"  # the page's own route (console.js)
    assert payload["annotations"]["customer_url"] == link and payload["generatorURL"] == link
    own = AlertsSettings(customer_url="https://crm.example.org/c/{customer_id}")
    assert customer_link_template(own, console) == own.customer_url  # a page of your own wins


@pytest.mark.parametrize("url", ["cx-console:9102", "ftp://cx-console/", "https://cx-console/#/x", "https://c/?a=1"])
def test_a_console_url_must_be_a_plain_http_url(url):
    from pydantic import ValidationError

    from cxpulse.alerts.settings import ConsoleSettings

    with pytest.raises(ValidationError, match="public_url"):
        ConsoleSettings(public_url=url)
