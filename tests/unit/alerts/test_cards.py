"""The supervisor's queue: one card per customer, open alerts only, Alertmanager's view, filters and order."""

import pytest
from cxpulse.alerts.cards import ACK_PREFIX, Board, CardFilter, card_key

from cxpulse.errors import CxpulseError

NOW = 1_767_000_000.0  # wall clock of the tests
EMITTED = "2025-12-29T09:20:00+00:00"  # NOW - 40 s


def board() -> Board:
    return Board(resolve_timeout=4 * 3600, warning_seconds=900)


def alert(alert_factory, **fields):
    return alert_factory(emitted_at=EMITTED, **fields)


def am_entry(alert_id: str, receivers=("team",), silenced=(), inhibited=(), state="active") -> dict:
    return {"labels": {"alert_id": alert_id}, "receivers": [{"name": r} for r in receivers],
            "status": {"state": state, "silencedBy": list(silenced), "inhibitedBy": list(inhibited)}}


def test_one_card_gathers_every_open_alert_of_a_customer(alert_factory):
    b = board()
    repeat = alert(alert_factory, customer_id="C-1", triggered_at="2025-12-29T08:00:00+00:00")
    breach = alert(alert_factory, customer_id="C-1", rule="sla_breach", severity="critical", service_type="repair",
                   triggered_at="2025-12-29T09:00:00+00:00")
    other = alert(alert_factory, customer_id="C-2")
    for a in (repeat, breach, other):
        b.add_alert(a, NOW)

    view = b.view(CardFilter(), NOW, 10)
    assert [c["key"] for c in view.cards] == ["C-1", "C-2"] and view.total == 2
    card = view.cards[0]
    assert card["severity"] == "critical" and card["service_types"] == ["billing", "repair"]
    assert [a["rule"] for a in card["alerts"]] == ["sla_breach", "repeat_contact"]  # most severe first
    assert card["since"] == "2025-12-29T08:00:00+00:00"  # the oldest open alert
    assert card["state"] == "pending"  # not in Alertmanager yet


def test_a_resolved_record_closes_its_alert_and_an_empty_card_leaves(alert_factory):
    b = board()
    churn = alert(alert_factory, customer_id="C-1", rule="churn_risk")
    b.add_alert(churn, NOW)
    assert b.add_alert({**churn, "status": "resolved"}, NOW) == "C-1"
    assert b.view(CardFilter(), NOW, 10).cards == [] and b.card("C-1") is None


def test_alerts_leave_at_the_end_of_their_lifetime_in_alertmanager(alert_factory):
    b = board()
    b.add_alert(alert(alert_factory, customer_id="C-1"), NOW)
    expired = alert_factory(customer_id="C-2", emitted_at="2025-12-29T05:00:00+00:00")  # over 4 h ago
    assert b.add_alert(expired, NOW) is None
    assert b.expire(NOW + 4 * 3600 - 41) == set()
    assert b.expire(NOW + 4 * 3600) == {"C-1"} and b.card("C-1") is None


def test_an_updated_incident_replaces_its_record_on_the_incident_card(alert_factory):
    b = board()
    first = alert(alert_factory, rule="incident", customer_id=None, segment=None, service_type="outage",
                  severity="critical", summary="25 customers contacted outage within 15 min")
    b.add_alert(first, NOW)
    b.add_alert({**first, "summary": "60 customers contacted outage within 15 min (raised with 25)"}, NOW)
    card = b.card("incident:outage")
    assert card["kind"] == "incident" and card["customer_id"] is None
    assert [a["summary"] for a in card["alerts"]] == ["60 customers contacted outage within 15 min (raised with 25)"]
    assert card_key({"rule": "incident", "service_type": "outage", "customer_id": None}) == "incident:outage"


def test_alertmanager_states_become_card_states(alert_factory):
    b = board()
    a1, a2 = alert(alert_factory, customer_id="C-1"), alert(alert_factory, customer_id="C-1")
    for a in (a1, a2):
        b.add_alert(a, NOW)
    ack = {"id": "s-ack", "status": {"state": "active"}, "comment": ACK_PREFIX + "called back", "createdBy": "ops-1",
           "endsAt": "2025-12-29T13:00:00Z", "matchers": [{"name": "customer_id", "value": "C-1"}]}
    mute = {"id": "s-mute", "status": {"state": "active"}, "comment": "known issue", "createdBy": "am-ui",
            "matchers": [{"name": "service_type", "value": "billing", "isRegex": False, "isEqual": True}]}
    old = {"id": "s-old", "status": {"state": "expired"}, "comment": "gone"}

    assert b.apply_alertmanager([am_entry(a1["alert_id"], ("pager",))], [], NOW) == {"C-1"}
    assert b.card("C-1")["state"] == "pending"  # a2 is not in Alertmanager yet
    b.apply_alertmanager([am_entry(a1["alert_id"], ("pager",)), am_entry(a2["alert_id"])], [ack, mute, old], NOW)
    card = b.card("C-1")
    assert card["state"] == "open" and card["receivers"] == ["pager", "team"]
    assert b.apply_alertmanager([am_entry(a1["alert_id"], ("pager",)), am_entry(a2["alert_id"])], [ack], NOW) == set()

    b.apply_alertmanager([am_entry(i, silenced=["s-ack"], state="suppressed") for i in (a1["alert_id"], a2["alert_id"])],
                         [ack, mute], NOW)
    card = b.card("C-1")
    assert card["state"] == "acknowledged"
    assert card["alerts"][0]["alertmanager"]["silences"] == [{
        "id": "s-ack", "acknowledgement": True, "comment": "called back", "created_by": "ops-1",
        "ends_at": "2025-12-29T13:00:00Z", "matchers": ["customer_id=C-1"]}]
    assert b.silences_of("C-1") == [ack]

    longer = {**ack, "endsAt": "2025-12-29T17:00:00Z"}  # extended in Alertmanager's UI
    assert b.apply_alertmanager([am_entry(i, silenced=["s-ack"], state="suppressed")
                                 for i in (a1["alert_id"], a2["alert_id"])], [longer, mute], NOW) == {"C-1"}
    assert b.card("C-1")["alerts"][0]["alertmanager"]["silences"][0]["ends_at"] == "2025-12-29T17:00:00Z"

    b.apply_alertmanager([am_entry(a1["alert_id"], silenced=["s-ack"]), am_entry(a2["alert_id"], silenced=["s-mute"])],
                         [ack, mute], NOW)
    assert b.card("C-1")["state"] == "silenced"  # someone silenced it in Alertmanager's UI
    b.apply_alertmanager([am_entry(i, inhibited=["fp"], state="suppressed") for i in (a1["alert_id"], a2["alert_id"])],
                         [], NOW)
    assert b.card("C-1")["state"] == "inhibited"


def test_cards_that_need_someone_come_first_then_severity_then_age(alert_factory):
    b = board()
    specs = [("old-warning", "warning", "07:00"), ("new-critical", "critical", "09:00"),
             ("old-critical", "critical", "06:00"), ("handled-critical", "critical", "05:00")]
    ids = {}
    for cid, severity, at in specs:
        a = alert(alert_factory, customer_id=cid, severity=severity, triggered_at=f"2025-12-29T{at}:00+00:00")
        ids[cid] = a["alert_id"]
        b.add_alert(a, NOW)
    b.apply_alertmanager([am_entry(i, silenced=["s"] if cid == "handled-critical" else ()) for cid, i in ids.items()],
                         [{"id": "s", "status": {"state": "active"}, "comment": "x"}], NOW)
    assert [c["key"] for c in b.view(CardFilter(), NOW, 10).cards] == ["old-critical", "new-critical", "old-warning",
                                                                       "handled-critical"]
    assert [c["key"] for c in b.view(CardFilter(), NOW, 2).cards] == ["old-critical", "new-critical"]
    assert b.view(CardFilter(), NOW, 2).matched == 4
    b.add_warning({"warning_id": "w", "customer_id": "new-critical", "severity": "warning", "emitted_at": EMITTED}, NOW)
    assert [c["key"] for c in b.view(CardFilter(), NOW, 2).cards] == ["new-critical", "old-critical"]  # on the line now


def test_filters_and_their_counts(alert_factory):
    b = board()
    b.add_alert(alert(alert_factory, customer_id="VIP-1", segment="vip", severity="critical"), NOW)
    b.add_alert(alert(alert_factory, customer_id="STD-1", service_type="repair"), NOW)
    b.add_alert(alert(alert_factory, customer_id="STD-2", service_type="billing"), NOW)
    vip_alert = b.alert_ids("VIP-1")[0]
    b.apply_alertmanager([am_entry(vip_alert, ("pager", "priority-lane"))], [], NOW)

    def keys(**query):
        return [c["key"] for c in b.view(CardFilter.of(**query), NOW, 10).cards]

    assert keys(severity=["critical"]) == ["VIP-1"]
    assert keys(segment=["standard"]) == ["STD-1", "STD-2"]
    assert keys(service_type=["repair,billing"], q="std-2") == ["STD-2"]
    assert keys(receiver=["priority-lane"]) == ["VIP-1"]
    assert keys(state=["pending"]) == ["STD-1", "STD-2"]
    assert keys(severity=["warning"], segment=["vip"]) == []  # filters combine
    facets = b.view(CardFilter.of(severity=["critical"]), NOW, 10).facets  # counts are over every card
    assert facets["severity"] == {"critical": 1, "warning": 2}
    assert facets["receiver"] == {"pager": 1, "priority-lane": 1}
    assert b.card("VIP-1")["priority_lane"] is True and b.card("STD-1")["priority_lane"] is False
    with pytest.raises(CxpulseError, match="severity: unknown value loud"):
        CardFilter.of(severity=["loud"])


def test_agent_warnings_join_the_customers_card_and_fade(alert_factory):
    b = board()
    b.add_alert(alert(alert_factory, customer_id="C-1"), NOW)
    warning = {"warning_id": "w-1", "customer_id": "C-1", "service_type": "billing", "segment": "vip",
               "priority_lane": True, "started_at": "2025-12-29T09:20:30+00:00", "emitted_at": "2025-12-29T09:20:30+00:00",
               "score": 41.0, "risk_band": "at_risk", "severity": "critical", "summary": "sensitive, 3rd call on billing",
               "unknown_field": {"tolerated": True}}
    assert b.add_warning(warning, NOW) == "C-1"
    assert b.add_warning({**warning, "summary": "again"}, NOW) == "C-1"  # the same warning id replaces
    card = b.card("C-1")
    assert [w["summary"] for w in card["warnings"]] == ["again"] and card["severity"] == "critical"
    assert card["priority_lane"] is True

    b.add_warning({**warning, "warning_id": "w-2", "customer_id": "C-9", "severity": "info"}, NOW)
    assert b.card("C-9") is None  # an informative warning alone is no reason for a card
    b.add_warning({**warning, "warning_id": "w-3", "customer_id": "C-8"}, NOW)
    assert b.card("C-8")["alerts"] == [] and b.card("C-8")["since"] == warning["started_at"]
    assert b.expire(NOW + 929) == set()  # shown 15 min after it was emitted
    assert b.expire(NOW + 930) >= {"C-1", "C-8"}
    assert b.card("C-8") is None and b.card("C-1")["warnings"] == []


def test_records_that_are_not_alerts_are_ignored(alert_factory):
    b = board()
    assert b.add_alert({"rule": "repeat_contact"}, NOW) is None
    assert b.add_alert({"alert_id": "x", "rule": "detractor", "customer_id": None, "service_type": "b"}, NOW) is None
    assert b.add_warning({"warning_id": "w"}, NOW) is None
    assert b.version == 0
