"""Each preset's vendor samples through the real gateway (``POST /v1/sources/{name}``) and a real
worker on the test broker, into alerts: exactly the pure engine's alerts for the mapped events, with
the story each sample tells (repeat calls, a broken promise and a bad rating, repeated cases), and
the records that cannot be mapped in the dead-letter topic with their reasons."""

import time

import orjson
import pytest

from cxpulse.producers.mapping import Events, Failed, judge_record, load_source
from cxpulse.schemas import DeadLetter

from ..worker.helpers import alert_key, expected_run
from .conftest import HASH_KEY

pytestmark = pytest.mark.timeout(300)
PRESETS = ("amazon-connect", "zendesk", "salesforce-case")


def test_every_preset_maps_its_samples_through_the_gateway_into_alerts(
        settings_factory, gateway_factory, wait_healthy, worker_factory, post_source, samples, consume, wait_for):  # fmt: skip
    settings = settings_factory(partitions=3, sources={"webhooks": list(PRESETS), "hash_key": HASH_KEY})
    mapped, failing = [], []
    for name in PRESETS:  # what the mappings make of the samples, judged here as the gateway will
        mapper = load_source(name, settings)
        for record in samples(name):
            outcome = judge_record(mapper, record, time.time(), 86400)
            if isinstance(outcome, Events):
                mapped += [(event.key, event.value) for event in outcome.accepted]
            elif isinstance(outcome, Failed):
                failing.append((name, outcome.reason))
    expected = expected_run(settings, mapped)
    assert len(failing) == 2  # the chat with no customer address, the case update with no contact

    worker = worker_factory(settings)
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    for name in PRESETS:
        answer = post_source(gateway, name, samples(name))
        assert answer.status == 202, answer.body
    wait_for(lambda: (worker.health() or {}).get("events") == len(mapped), timeout=120, message="the worker read every event")
    wanted = {alert.alert_id for alert in expected.alerts}
    assert wanted
    wait_for(lambda: wanted <= {orjson.loads(r.value)["alert_id"] for r in consume(settings.topics.alerts)},
             timeout=90, message="every expected alert on the alerts topic")  # fmt: skip

    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts)]
    assert {a["alert_id"] for a in alerts} == wanted
    keys = {alert_key(a) for a in alerts}
    caller = orjson.loads(mapped[0][1])["customer_id"]  # Amazon Connect: the hashed caller
    assert caller.startswith("ac-")
    for story in [("repeat_contact", caller, "billingqueue"),           # three calls to the billing queue
                  ("sla_breach", "zd-20978392", "support"),             # solved after its due time
                  ("detractor", "zd-20978392", "support"),              # then a bad rating
                  ("repeat_contact", "sf-0035e00000PqRsTAAV", "electrical")]:  # three cases in three days
        assert story in keys, story
    breach = next(a for a in alerts if a["rule"] == "sla_breach")
    assert breach["severity"] == "critical"  # the ticket was urgent

    letters = [DeadLetter.model_validate_json(r.value) for r in consume(settings.topics.dlq, count=2)]
    assert sorted((letter.source, letter.error) for letter in letters) == sorted(failing)
    assert {letter.source_topic for letter in letters} == {"gateway:/v1/sources/amazon-connect", "gateway:/v1/sources/salesforce-case"}
