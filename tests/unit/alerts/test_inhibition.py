"""The ``incident`` label: an incident inhibits only the repeat contacts of its service type since it began."""

from datetime import UTC, datetime, timedelta

from cxpulse.alerts.active import ActiveAlerts
from cxpulse.alerts.alertmanager import DeliveryError
from cxpulse.alerts.inhibition import IncidentIndex
from cxpulse.alerts.payload import identity_labels
from cxpulse.schemas import Alert

from .conftest import FakeAlertmanager, FakeSource, record
from .test_router import _router

M = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)  # the incident's moment; its window began 15 min before


def _at(minutes: float) -> str:
    return (M + timedelta(minutes=minutes)).isoformat()


def _incident(alert_factory, **fields):
    return alert_factory(rule="incident", severity="critical", customer_id=None, segment=None, score=None,
                         risk_band=None, service_type="outage", triggered_at=_at(0),
                         summary="25 customers contacted outage within 15 min", **fields)


def _repeat(alert_factory, minutes: float, service_type: str = "outage"):
    return alert_factory(service_type=service_type, triggered_at=_at(minutes))


def _labels_of(am: FakeAlertmanager, alert_id: str) -> list[dict]:
    return [a for a in am.accepted if a["labels"]["alert_id"] == alert_id]


def test_labels_name_the_incident_of_the_repeat_contacts_it_explains(alert_factory):
    index = IncidentIndex(window_seconds=900)
    incident = Alert.model_validate(_incident(alert_factory))
    index.note_alert(incident)

    def label(alert: Alert) -> str | None:
        return index.labels(alert, identity_labels(alert)).get("incident")

    assert label(incident) == incident.alert_id
    assert label(Alert.model_validate(_repeat(alert_factory, -15))) == incident.alert_id  # the window's first moment
    assert label(Alert.model_validate(_repeat(alert_factory, 30))) == incident.alert_id
    assert label(Alert.model_validate(_repeat(alert_factory, -15.01))) is None  # before the incident began
    assert label(Alert.model_validate(_repeat(alert_factory, 0, "billing"))) is None  # another service type
    assert label(Alert.model_validate(alert_factory(rule="detractor", service_type="outage"))) is None


def test_the_latest_incident_that_began_before_the_contact_is_named():
    index = IncidentIndex(window_seconds=900)
    t = M.timestamp()
    assert index.note("outage", "first", t) and index.note("outage", "second", t + 7200)
    assert not index.note("outage", "first", t)  # an update of a known incident
    assert index.incident_for("outage", t + 3600) == "first"
    assert index.incident_for("outage", t + 7200 - 900) == "second"
    assert index.incident_for("outage", t - 901) is None


def test_repeat_contacts_delivered_before_the_incident_are_relabelled_and_their_copies_ended(alert_factory):
    before, during, elsewhere = _repeat(alert_factory, -20), _repeat(alert_factory, -5), _repeat(alert_factory, -5,
                                                                                                  "billing")
    incident = _incident(alert_factory)
    later = _repeat(alert_factory, 10)
    source = FakeSource([[record(before), record(during), record(elsewhere)], [record(incident)], [record(later)]])
    am = FakeAlertmanager()
    router, _, _ = _router(source, am)

    router.step()
    assert all("incident" not in a["labels"] for a in am.accepted)
    router.step()
    router.step()

    assert [a["labels"].get("incident") for a in _labels_of(am, before["alert_id"])] == [None]
    assert [a["labels"].get("incident") for a in _labels_of(am, elsewhere["alert_id"])] == [None]
    first, ended, labelled = _labels_of(am, during["alert_id"])
    assert ended["labels"] == first["labels"] and "incident" not in ended["labels"]
    assert ended["endsAt"] == "2025-03-03T10:00:00.000Z"  # now: Alertmanager ends the unlabelled copy
    assert labelled["labels"] == {**first["labels"], "incident": incident["alert_id"]}
    assert labelled["endsAt"] == first["endsAt"] and labelled["annotations"] == first["annotations"]
    assert [a["labels"].get("incident") for a in _labels_of(am, incident["alert_id"])] == [incident["alert_id"]]
    assert [a["labels"].get("incident") for a in _labels_of(am, later["alert_id"])] == [incident["alert_id"]]
    assert source.committed == [0, 1, 2]
    # the re-sends carry the labelled copy
    assert router.active.labels_of(during["alert_id"])["incident"] == incident["alert_id"]


def test_an_update_of_the_incident_relabels_nothing_twice(alert_factory):
    during, incident = _repeat(alert_factory, -5), _incident(alert_factory)
    update = {**incident, "summary": "60 customers contacted outage within 15 min (raised with 25)"}
    source = FakeSource([[record(during)], [record(incident)], [record(update)]])
    am = FakeAlertmanager()
    router, _, _ = _router(source, am)
    for _ in range(3):
        router.step()
    assert len(_labels_of(am, during["alert_id"])) == 3  # first post, then ended + labelled once


class RefusesRelabels(FakeAlertmanager):
    """Down (retryable) for every request that re-labels a repeat contact."""

    def post_alerts(self, alerts):
        if any(a["labels"]["alertname"] == "repeat_contact" and "incident" in a["labels"] for a in alerts):
            self.posts += 1
            raise DeliveryError("Alertmanager at http://am not reachable: refused", retryable=True)
        super().post_alerts(alerts)


def test_relabelling_waits_for_alertmanager_and_the_batch_is_committed_only_after(alert_factory):
    during, incident = _repeat(alert_factory, -5), _incident(alert_factory)
    source = FakeSource([[record(during)], [record(incident)]])
    router, waits, _ = _router(source, RefusesRelabels(), stop_after=2)

    router.step()
    router.step()

    assert len(waits.delays) == 2 and waits.delays[1] > waits.delays[0]  # backing off
    assert source.committed == [0]  # stopped while waiting: the incident's batch is read again


def test_incidents_alertmanager_still_holds_are_remembered(alert_factory):
    router, _, _ = _router(FakeSource([]), FakeAlertmanager())
    held = [{"labels": {"alertname": "incident", "alert_id": "cxa-inc", "service_type": "outage"},
             "annotations": {"triggered_at": "2025-03-03T09:30:00.000Z"}},
            {"labels": {"alertname": "incident"}, "annotations": {}}]
    assert router.seed_incidents(held) == 1
    assert router.incidents.incident_for("outage", M.timestamp() - 60) == "cxa-inc"


def test_active_alerts_lists_what_it_holds():
    active = ActiveAlerts(limit=2)
    for i in range(3):
        active.delivered(f"a{i}", {"labels": {}}, 100.0 + i, False)
    assert [(i, e) for i, _, e in active.items()] == [("a1", 101.0), ("a2", 102.0)]
