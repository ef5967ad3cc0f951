"""Rule precision, alert volume and lead time on a hand-made collection."""

from array import array

import pytest
from cxpulse.processors.backtest.collector import (
    FEATURES,
    Collector,
    CustomerRecord,
    Snapshot,
)
from cxpulse.processors.backtest.errors import BacktestError
from cxpulse.processors.backtest.evaluate import evaluate
from cxpulse.processors.backtest.outcomes import OutcomeEvent, OutcomeIndex
from cxpulse.processors.engine import EngineSettings

DAY = 86400.0
H = 10 * DAY


def _collection() -> tuple[Collector, OutcomeIndex]:
    settings = EngineSettings()
    collector = Collector(settings, [20 * DAY])
    collector.first_at, collector.last_at = 0.0, 40 * DAY

    def customer(cid: str, alerts: list[tuple[str, float]], score: float, segment: str = "standard") -> None:
        record = CustomerRecord(0.0, segment, array("d", [0.0] * len(FEATURES)), 0.0)
        record.alerts = alerts
        collector.customers[cid] = record
        collector.snapshots.setdefault(20 * DAY, []).append(Snapshot(cid, segment, score, None))
        for rule, at in alerts:
            collector.alert_times.setdefault(rule, []).append(at)

    customer("A", [("repeat_contact", 15 * DAY), ("churn_risk", 18 * DAY), ("repeat_contact", 19 * DAY)], 50.0)
    customer("B", [("repeat_contact", 16 * DAY)], 60.0)
    customer("C", [("churn_risk", 35 * DAY)], 90.0)  # its horizon runs past the data: not judged
    customer("D", [], 100.0, "vip")
    collector.alert_times["incident"] = [5 * DAY]
    index = OutcomeIndex([OutcomeEvent("A", 22 * DAY, "cancelled"), OutcomeEvent("D", 30 * DAY, "cancelled")],
                         {cid: 0.0 for cid in collector.customers})
    return collector, index


def test_rule_precision_counts_alerted_customers_who_left_within_the_horizon_of_their_first_alert():
    collector, index = _collection()
    report = evaluate(collector, index, collector.settings, H, 40 * DAY)

    repeat, churn = report["rules"]["repeat_contact"], report["rules"]["churn_risk"]
    assert (repeat["alerted_customers"], repeat["churned"], repeat["precision"]) == (2, 1, 0.5)
    assert repeat["median_lead_days"] == 7.0  # A: first repeat alert on day 15, left on day 22
    assert (churn["alerted_customers"], churn["churned"]) == (1, 1)  # C's alert is too late to judge
    # volume: alerts per 1,000 customers per day over the 40 days of 4 customers
    assert repeat["alerts"] == 3 and repeat["per_1000_customers_per_day"] == pytest.approx(3 * 1000 / (4 * 40))
    assert report["rules"]["incident"]["alerted_customers"] == 0 and report["rules"]["incident"]["alerts"] == 1


def test_lead_time_runs_from_the_first_alert_in_the_horizon_before_leaving():
    collector, index = _collection()
    lead = evaluate(collector, index, collector.settings, H, 40 * DAY)["lead_time"]

    # A left on day 22: alerts on days 15, 18, 19 are inside the 10 days before; the first, day 15, gives 7 days.
    # D left on day 30 with no alert.
    assert (lead["churners"], lead["alerted_before"], lead["share_alerted"]) == (2, 1, 0.5)
    assert lead["leads_days"] == [7.0] and lead["median_days"] == 7.0
    assert lead["histogram"]["counts"] == [0] * 7 + [1, 0, 0]


def test_score_figures_at_the_cutoff_per_band_and_segment():
    collector, index = _collection()
    report = evaluate(collector, index, collector.settings, H, 40 * DAY)

    overall = report["overall"]
    # A left on day 22 and D exactly at the end of the horizon (day 30): both inside (T, T + H]
    assert (overall["customers"], overall["churned"]) == (4, 2)
    # risks 50 (A, left), 40 (B), 10 (C), 0 (D, left): A outranks B and C, D outranks neither
    assert overall["auc"] == 0.5
    assert overall["bands"]["at_risk"] == {"customers": 2, "churned": 1, "rate": 0.5}
    assert overall["bands"]["healthy"] == {"customers": 2, "churned": 1, "rate": 0.5}
    assert overall["at_risk_or_worse"] == {"flagged": 2, "precision": 0.5, "recall": 0.5}
    assert report["segments"]["vip"]["customers"] == 1 and report["segments"]["vip"]["auc"] is None


def test_a_cutoff_whose_horizon_runs_past_the_data_is_refused():
    collector, index = _collection()
    with pytest.raises(BacktestError, match="outcomes are not known that far"):
        evaluate(collector, index, collector.settings, 25 * DAY, 40 * DAY)
