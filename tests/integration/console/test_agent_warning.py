"""A contact start through the real pipeline: the worker's agent warning joins the customer's
card on the console with its own fields, and the alert it came with links, in Alertmanager,
to the console's customer view (never to the worker's read API, which needs a token)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import get_json, wait_until

pytestmark = pytest.mark.timeout(600)


def test_a_sensitive_callers_warning_reaches_its_card_and_the_alert_links_to_the_console(console_stack):
    stack = console_stack
    customer = f"cust-{uuid.uuid4().hex[:6]}-desk"
    now = datetime.now(UTC)

    def event(kind: str, n: int, moment: datetime, **fields) -> dict:
        return {"event_id": f"ev-{customer}-{n}", "event_type": kind, "customer_id": customer,
                "occurred_at": moment.isoformat(), "channel": "phone", "service_type": "billing",
                "segment": "vulnerable", **fields}

    stack.produce_events([
        event("feedback", 1, now - timedelta(hours=3), survey="csat", score=1, is_complaint=True),
        event("feedback", 2, now - timedelta(hours=2), survey="ces", score=2),
        event("contact_started", 3, now, contact_id=f"K-{customer}", agent_id="A-7", queue="billing-care",
              schema_version=2),
    ])

    def card() -> dict | None:
        cards = (get_json(stack.url + "api/cards") or {}).get("cards", [])
        return next((c for c in cards if c["key"] == customer and c["warnings"]
                     and any(a["rule"] == "sensitive_contact" for a in c["alerts"])), None)

    found = wait_until(card, 90, "the warning and the sensitive_contact alert are on the customer's card")
    (warning,) = found["warnings"]
    assert (warning["contact_id"], warning["agent_id"], warning["queue"], warning["channel"]) == (
        f"K-{customer}", "A-7", "billing-care", "phone")
    assert warning["sensitive_until"] and warning["first_record"] is True and warning["repeat_count"] == 1
    assert warning["severity"] == "critical" and found["priority_lane"] is True  # vulnerable: one level up
    carried = {a["alert_id"] for a in found["alerts"] if a["rule"] == "sensitive_contact"}
    assert set(warning["alerts"]) == carried

    def in_alertmanager() -> list[dict]:
        return [a for a in stack.am_alerts() if a["labels"].get("customer_id") == customer
                and a["labels"]["alertname"] == "sensitive_contact"]

    (held,) = wait_until(in_alertmanager, 60, "the router delivered the sensitive_contact alert")
    link = f"{stack.url}#/customer/{customer}"  # the console page's own route (console.js)
    assert held["annotations"]["customer_url"] == link and held["generatorURL"] == link
