"""Acknowledging and silencing a card as Alertmanager silences."""

import re
from datetime import UTC, datetime

import pytest
from cxpulse.alerts.silences import acknowledge_silence, card_matchers, silence_for

NOW = datetime(2025, 12, 29, 9, 0, tzinfo=UTC)


def test_an_acknowledgement_covers_exactly_the_cards_open_alerts():
    silence = acknowledge_silence("C-1.x", ["cxa-b", "cxa-a"], NOW, 4 * 3600, "ops-1")
    assert silence["matchers"] == [
        {"name": "customer_id", "value": "C-1.x", "isRegex": False, "isEqual": True},
        {"name": "alert_id", "value": "cxa-a|cxa-b", "isRegex": True, "isEqual": True},
    ]
    assert (silence["startsAt"], silence["endsAt"]) == ("2025-12-29T09:00:00.000Z", "2025-12-29T13:00:00.000Z")
    assert silence["createdBy"] == "ops-1" and silence["comment"].startswith("[ack] ")
    pattern = re.compile(silence["matchers"][1]["value"])
    assert pattern.fullmatch("cxa-a") and not pattern.fullmatch("cxa-c")


def test_an_id_with_regex_characters_is_matched_literally():
    (value,) = [m["value"] for m in acknowledge_silence("C", ["a.b"], NOW, 60, None)["matchers"] if m["isRegex"]]
    assert re.fullmatch(value, "a.b") and not re.fullmatch(value, "axb")


def test_a_silence_covers_every_alert_of_the_customer_new_ones_too():
    silence = silence_for("C-1", NOW, 3600, None, "called back, waiting for the engineer")
    assert silence["matchers"] == [{"name": "customer_id", "value": "C-1", "isRegex": False, "isEqual": True}]
    assert silence["createdBy"] == "cxpulse-console" and silence["comment"] == "called back, waiting for the engineer"
    assert not silence_for("C-1", NOW, 3600, None, "[ack] sneaky")["comment"].startswith("[ack]")


def test_an_incident_card_is_silenced_by_rule_and_service_type():
    assert card_matchers("incident:outage") == [
        {"name": "alertname", "value": "incident", "isRegex": False, "isEqual": True},
        {"name": "service_type", "value": "outage", "isRegex": False, "isEqual": True},
    ]


def test_nothing_to_acknowledge_is_an_error():
    with pytest.raises(ValueError):
        acknowledge_silence("C-1", [], NOW, 60, None)
