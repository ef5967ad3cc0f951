"""Each preset on its vendor's documented record shapes (tests/sources/samples, see its README)."""

import orjson
import pytest

from cxpulse.errors import ConfigError
from cxpulse.producers.mapping import Events, Failed, Skipped, judge_record, load_source, preset_names
from cxpulse.schemas import parse_event
from cxpulse.settings import Settings

from .helpers import KEY, NOW, sample

SETTINGS = Settings(sources={"hash_key": KEY})


def judged(name: str) -> list:
    mapper = load_source(name, SETTINGS)
    return [judge_record(mapper, record, NOW, 86400) for record in sample(name)]


def events(outcome) -> list[dict]:
    assert isinstance(outcome, Events), outcome
    for event in outcome.accepted:
        parse_event(event.value)  # valid by the contract, as the worker reads it
        assert event.key == orjson.loads(event.value)["customer_id"].encode()
    return [orjson.loads(event.value) for event in outcome.accepted]


def test_the_presets_are_shipped_and_load():
    assert set(preset_names()) >= {"amazon-connect", "zendesk", "salesforce-case"}
    for name in preset_names():
        load_source(name, SETTINGS)


def test_amazon_connect_queue_wait_talk_time_and_disconnect_reason():
    answered, abandoned, transferred, transfer_leg, attributed, chat = judged("amazon-connect")
    [call] = events(answered)
    assert call == {
        "event_type": "call", "event_id": "connect:0a1b2c3d-1111-4e5f-8a9b-0c1d2e3f4a5b", "customer_id": call["customer_id"],
        "occurred_at": "2025-05-12T08:02:11+00:00", "channel": "phone", "service_type": "billingqueue",
        "direction": "inbound", "wait_seconds": 95, "talk_seconds": 312, "outcome": "resolved", "agent_id": "jdoe",
    }  # fmt: skip
    [gave_up] = events(abandoned)
    assert (gave_up["outcome"], gave_up["wait_seconds"], gave_up["talk_seconds"]) == ("abandoned", 410, 0)
    assert "agent_id" not in gave_up
    [moved] = events(transferred)
    assert moved["outcome"] == "transferred"
    assert isinstance(transfer_leg, Skipped)  # the transfer's second record is the same customer contact
    [flagged] = events(attributed)
    assert (flagged["customer_id"], flagged["service_type"], flagged["outcome"]) == ("CRM-0042", "repair", "escalated")
    assert isinstance(chat, Failed)
    assert chat.reason.startswith("source amazon-connect, rule contact: customer_id: required by the event contract;")


def test_amazon_connect_customer_ids_are_keyed_hashes_of_the_number_never_the_number():
    calls = [events(outcome)[0] for outcome in judged("amazon-connect")[:3]]
    ids = {call["customer_id"] for call in calls}
    assert len(ids) == 1  # one caller, three contacts: a repeat contact downstream
    [customer] = ids
    assert customer.startswith("ac-") and "2065550142" not in customer and "+1" not in customer
    other_key = Settings(sources={"hash_key": "another-secret-key-1"})
    again = judge_record(load_source("amazon-connect", other_key), sample("amazon-connect")[0], NOW, 86400)
    assert events(again)[0]["customer_id"] != customer


def test_amazon_connect_refuses_to_load_without_a_hash_key():
    with pytest.raises(ConfigError, match="sources.hash_key"):
        load_source("amazon-connect", Settings())


def test_zendesk_status_changes_due_at_and_satisfaction():
    created, due, priority, comment, pending, solved, rating, offered = judged("zendesk")
    [opened] = events(created)
    assert opened == {"event_type": "ticket", "event_id": "zd:cbe4028c-7239-495d-b020-f22348516001",
                      "customer_id": "zd-20978392", "occurred_at": "2025-05-20T09:00:00.672717+00:00", "channel": "web",
                      "service_type": "support", "ticket_id": "zd-35436", "action": "opened", "priority": "normal"}  # fmt: skip
    [promised] = events(due)
    assert (promised["action"], promised["due_at"]) == ("updated", "2025-05-21T17:00:00+00:00")
    assert events(priority)[0]["priority"] == "urgent"
    assert isinstance(comment, Skipped) and isinstance(offered, Skipped)
    assert events(pending)[0]["action"] == "updated"
    assert events(solved)[0]["action"] == "resolved"
    [feedback] = events(rating)
    assert feedback == {"event_type": "feedback", "event_id": "zd-csat:1234567:2025-05-22T16:20:00Z",
                        "customer_id": "zd-20978392", "occurred_at": "2025-05-22T16:20:00+00:00", "channel": "web",
                        "service_type": "support", "survey": "csat", "score": 1, "related_ticket_id": "zd-35436"}  # fmt: skip


def test_zendesk_reopening_and_closing():
    mapper = load_source("zendesk", SETTINGS)
    solved = sample("zendesk")[5]
    reopened = {**solved, "id": "x-1", "event": {"current": "OPEN", "previous": "SOLVED"}}
    closed = {**solved, "id": "x-2", "event": {"current": "CLOSED", "previous": "SOLVED"}}
    assert events(judge_record(mapper, reopened, NOW, 86400))[0]["action"] == "reopened"
    assert events(judge_record(mapper, closed, NOW, 86400))[0]["action"] == "closed"
    good = {**sample("zendesk")[6]["satisfaction_rating"], "score": "good"}
    assert events(judge_record(mapper, good, NOW, 86400))[0]["score"] == 5


def test_zendesk_a_status_it_does_not_know_is_a_dead_letter_naming_the_map():
    mapper = load_source("zendesk", SETTINGS)
    odd = {**sample("zendesk")[5], "event": {"current": "ARCHIVED", "previous": "OPEN"}}
    outcome = judge_record(mapper, odd, NOW, 86400)
    assert isinstance(outcome, Failed)
    assert outcome.reason == 'source zendesk, rule ticket: action: the value of "lower(event.current)" is not in [maps.status_action]'


def test_salesforce_case_creation_escalation_and_what_it_skips():
    first, second, third, escalated, description, closed = judged("salesforce-case")
    opened = [events(outcome)[0] for outcome in (first, second, third)]
    assert {e["customer_id"] for e in opened} == {"sf-0035e00000PqRsTAAV"}
    assert [e["action"] for e in opened] == ["opened"] * 3
    assert opened[0] == {"event_type": "ticket", "event_id": "sf:0002343d-9d90-e395-ed20-cf416ba65201:1",
                         "customer_id": "sf-0035e00000PqRsTAAV", "occurred_at": "2025-06-02T08:10:00+00:00",
                         "channel": "phone", "service_type": "electrical", "ticket_id": "5005e00000AbCdEAAV",
                         "action": "opened", "priority": "high", "is_complaint": False}  # fmt: skip
    assert events(escalated)[0]["action"] == "escalated"
    assert isinstance(description, Skipped)
    assert isinstance(closed, Failed)  # no ContactId without enrichment: no customer
    assert "customer_id: required by the event contract" in closed.reason


def test_salesforce_bare_payloads_and_merged_events():
    mapper = load_source("salesforce-case", SETTINGS)
    bare = sample("salesforce-case")[0]["data"]["payload"]
    assert events(judge_record(mapper, bare, NOW, 86400))[0]["ticket_id"] == "5005e00000AbCdEAAV"
    merged = {**bare, "ChangeEventHeader": {**bare["ChangeEventHeader"], "recordIds": ["5005e00000AbCdEAAV", "5005e00000AbCdFAAV"]}}
    outcome = judge_record(mapper, merged, NOW, 86400)
    assert isinstance(outcome, Failed) and outcome.reason.startswith("source salesforce-case, rule created: ticket_id: required")


@pytest.mark.parametrize("name", ["amazon-connect", "zendesk", "salesforce-case"])
def test_no_reason_quotes_a_value_of_the_record(name):
    for record, outcome in zip(sample(name), judged(name), strict=True):
        if isinstance(outcome, Failed):
            text = outcome.reason + " ".join(error.reason for error in outcome.errors)
            for value in _strings(record):
                if len(value) >= 6:
                    assert value not in text, (value, text)


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if value is not None and not isinstance(value, bool) else []
