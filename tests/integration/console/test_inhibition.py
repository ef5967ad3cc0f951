"""An incident mutes the repeat contacts of its service type since it began — not the ones
from before — in the real Alertmanager with the committed inhibit rule, through the router."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import wait_until

pytestmark = pytest.mark.timeout(600)


def _alert(rule: str, service_type: str, customer: str | None, minutes_ago: float) -> dict:
    now = datetime.now(UTC)
    return {
        "alert_id": f"cxa-inh-{uuid.uuid4().hex[:12]}", "rule": rule,
        "severity": "critical" if rule == "incident" else "warning", "status": "firing", "customer_id": customer,
        "service_type": service_type, "segment": "standard" if customer else None,
        "score": 55.0 if customer else None, "risk_band": "at_risk" if customer else None,
        "triggered_at": (now - timedelta(minutes=minutes_ago)).isoformat(), "emitted_at": now.isoformat(),
        "summary": f"test {rule} on {service_type}", "evidence": ["e-test"],
    }


def test_an_incident_mutes_only_the_repeat_contacts_since_it_began(console_stack):
    stack = console_stack
    svc = f"outage-{uuid.uuid4().hex[:6]}"
    before = _alert("repeat_contact", svc, "C-before", 30)  # 30 min ago: before the window (15 min) began
    during = _alert("repeat_contact", svc, "C-during", 5)
    stack.produce_alerts([before, during])

    def in_am() -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for entry in stack.am_alerts():
            found.setdefault(entry["labels"]["alert_id"], []).append(entry)
        return found

    wait_until(lambda: {before["alert_id"], during["alert_id"]} <= set(in_am()), 60,
               "both repeat contacts are in Alertmanager")
    incident = _alert("incident", svc, None, 2)
    stack.produce_alerts([incident])
    wait_until(lambda: any(e["labels"].get("incident") == incident["alert_id"]
                           for e in in_am().get(during["alert_id"], [])), 60,
               "the router re-labelled the repeat contact the incident explains")
    after = _alert("repeat_contact", svc, "C-after", 0)
    stack.produce_alerts([after])
    wait_until(lambda: after["alert_id"] in in_am(), 60, "the later repeat contact is in Alertmanager")

    def settled() -> dict | None:
        held = in_am()
        states = {key: [e["status"]["state"] for e in held.get(key, [])]
                  for key in (before["alert_id"], during["alert_id"], after["alert_id"])}
        return held if states == {before["alert_id"]: ["active"], during["alert_id"]: ["suppressed"],
                                  after["alert_id"]: ["suppressed"]} else None

    held = wait_until(settled, 60, "one copy of each: the earlier one active, the others inhibited")
    assert "incident" not in held[before["alert_id"]][0]["labels"]
    for key in (during["alert_id"], after["alert_id"]):
        (entry,) = held[key]
        assert entry["labels"]["incident"] == incident["alert_id"] and entry["status"]["inhibitedBy"]
    (source,) = held[incident["alert_id"]]
    assert source["labels"]["incident"] == incident["alert_id"]

    def notified(alert_id: str) -> bool:
        return any(a["labels"].get("alert_id") == alert_id and a["status"] == "firing"
                   for n in stack.sink.received() for a in n.alerts)

    wait_until(lambda: notified(before["alert_id"]) and notified(incident["alert_id"]), 60,
               "the repeat contact from before the incident and the incident reach people")
    assert not notified(after["alert_id"])  # inhibited from its first delivery on
