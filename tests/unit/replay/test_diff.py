"""Matching live alerts with replayed ones."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.processors.replay.diff import diff_alerts
from cxpulse.schemas import Alert

T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)
HOUR = 3600.0


def alert(aid: str, rule: str = "repeat_contact", customer: str | None = "C-1", svc: str = "billing",
          hours: float = 0, **fields) -> Alert:
    data = dict(alert_id=aid, rule=rule, severity="warning", status="firing", customer_id=customer,
                service_type=svc, segment="standard", score=80.0, risk_band="healthy",
                triggered_at=T0 + timedelta(hours=hours), summary="s", evidence=["e1", "e2", "e3"])
    data.update(fields)
    return Alert(**data)


def test_identical_alerts_are_unchanged_whatever_their_emission_time():
    live = [alert("a", emitted_at=T0 + timedelta(days=1)), alert("b", hours=2)]

    diff = diff_alerts(live, [alert("b", hours=2), alert("a")])

    assert diff.empty and diff.unchanged == 2


def test_same_id_with_other_values_is_changed_with_the_fields_named():
    diff = diff_alerts([alert("a")], [alert("a", severity="critical", score=55.5, evidence=["e1", "e2"])])

    (change,) = diff.changed
    assert change.matched_by == "id"
    assert {c.field: (c.live, c.replay) for c in change.changes} == {
        "severity": ("warning", "critical"), "score": (80.0, 55.5), "evidence": (["e1", "e2", "e3"], ["e1", "e2"])}


def test_a_resolved_record_is_its_own_alert():
    live = [alert("a"), alert("a", status="resolved", hours=5)]

    diff = diff_alerts(live, [alert("a")])

    assert diff.unchanged == 1 and [(a.alert_id, a.status) for a in diff.removed] == [("a", "resolved")]


def test_same_id_other_status_is_paired_by_id():
    diff = diff_alerts([alert("a", status="resolved")], [alert("a")])

    (change,) = diff.changed
    assert change.matched_by == "id" and [c.field for c in change.changes] == ["status"]


def test_a_threshold_that_moves_an_alert_pairs_it_as_changed():
    live = [alert("at-3rd", hours=0, evidence=["e1", "e2", "e3"])]
    replay = [alert("at-4th", hours=20, evidence=["e1", "e2", "e3", "e4"])]

    diff = diff_alerts(live, replay, pair_within=24 * HOUR)

    (change,) = diff.changed
    assert change.matched_by == "nearby"
    assert [c.field for c in change.changes] == ["triggered_at", "evidence"]
    assert not diff.added and not diff.removed


def test_pairing_needs_rule_customer_service_and_time():
    live = [alert("a", hours=0), alert("b", customer="C-2"), alert("c", svc="repair"), alert("d", rule="detractor")]
    replay = [alert("w", hours=30), alert("x", customer="C-3"), alert("y", svc="outage"), alert("z", rule="churn_risk")]

    diff = diff_alerts(live, replay, pair_within=24 * HOUR)

    assert not diff.changed
    assert sorted(a.alert_id for a in diff.removed) == ["a", "b", "c", "d"]
    assert sorted(a.alert_id for a in diff.added) == ["w", "x", "y", "z"]


def test_pairing_keeps_time_order_and_pairs_as_many_as_it_can():
    # Every alert of a customer moved 9 h later: 1st with 1st, 2nd with 2nd (not the nearest-first 2nd with 1st).
    live = [alert("L1", hours=0), alert("L2", hours=10)]
    replay = [alert("R1", hours=9), alert("R2", hours=19)]

    diff = diff_alerts(live, replay, pair_within=12 * HOUR)

    assert sorted((c.live.alert_id, c.replay.alert_id) for c in diff.changed) == [("L1", "R1"), ("L2", "R2")]


def test_among_equally_many_pairs_the_closest_win():
    live = [alert("L1", hours=10)]
    replay = [alert("R1", hours=0), alert("R2", hours=11)]

    diff = diff_alerts(live, replay, pair_within=24 * HOUR)

    assert [(c.live.alert_id, c.replay.alert_id) for c in diff.changed] == [("L1", "R2")]
    assert [a.alert_id for a in diff.added] == ["R1"]


def test_incidents_pair_by_service_type():
    live = [alert("i1", rule="incident", customer=None, svc="outage", score=None, risk_band=None, segment=None)]
    replay = [alert("i2", rule="incident", customer=None, svc="outage", score=None, risk_band=None, segment=None,
                    hours=0.25)]

    (change,) = diff_alerts(live, replay).changed
    assert change.matched_by == "nearby"


def test_an_alert_written_twice_live_counts_once():
    diff = diff_alerts([alert("a"), alert("a", emitted_at=T0)], [alert("a")])

    assert diff.empty and diff.unchanged == 1


def test_counts_by_rule():
    live = [alert("a"), alert("b", rule="detractor"), alert("c", rule="detractor", hours=100)]
    replay = [alert("a", severity="critical"), alert("d", rule="sla_breach")]

    assert diff_alerts(live, replay, pair_within=HOUR).by_rule() == {
        "detractor": (0, 2, 0), "repeat_contact": (0, 0, 1), "sla_breach": (1, 0, 0)}


def _generated(n: int, rule: str, customer: str, hours: int, status: str, severity: str) -> Alert:
    # As in the engine, an id names its rule and customer (it is a hash of them and the trigger).
    return alert(f"{rule}/{customer}/{n}", rule, customer, hours=hours, status=status, severity=severity)


_alerts = st.lists(st.builds(
    _generated, n=st.integers(0, 3), rule=st.sampled_from(["repeat_contact", "detractor"]),
    customer=st.sampled_from(["C-1", "C-2"]), hours=st.integers(0, 96),
    status=st.sampled_from(["firing", "resolved"]), severity=st.sampled_from(["warning", "critical"])), max_size=12)


@settings(max_examples=200, deadline=None)
@given(live=_alerts, replay=_alerts, within=st.sampled_from([0.0, HOUR, 48 * HOUR]))
def test_every_alert_is_accounted_for_exactly_once(live, replay, within):
    diff = diff_alerts(live, replay, pair_within=within)

    live_keys = {(a.alert_id, a.status) for a in live}
    replay_keys = {(a.alert_id, a.status) for a in replay}
    seen_live = [(a.alert_id, a.status) for a in diff.removed] + [(c.live.alert_id, c.live.status) for c in diff.changed]
    seen_replay = [(a.alert_id, a.status) for a in diff.added] + [(c.replay.alert_id, c.replay.status)
                                                                  for c in diff.changed]
    assert len(seen_live) + diff.unchanged == len(live_keys)
    assert set(seen_live) | (live_keys & replay_keys) == live_keys
    assert len(seen_replay) + diff.unchanged == len(replay_keys)
    assert set(seen_replay) | (live_keys & replay_keys) == replay_keys
    for change in diff.changed:
        assert change.live.rule == change.replay.rule
        assert change.matched_by == "id" or abs((change.live.triggered_at - change.replay.triggered_at)
                                                .total_seconds()) <= within
