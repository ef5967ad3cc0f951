"""From what a replay collected and the joined outcomes to the backtest's figures (a JSON-ready dict).

Observations are (customer, cut-off) pairs: every customer active at a cut-off ``T`` (seen by
then, not gone), its score at ``T``, and whether it left within ``(T, T + horizon]``.
Rules are judged per customer and rule by the first firing alert ``a``: did the customer
leave within ``(a, a + horizon]``? Lead time runs from the first customer alert in the
horizon before a departure to the departure. docs/backtest.md defines each figure.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cxpulse.processors.engine import EngineSettings

from .collector import Collector
from .errors import BacktestError
from .metrics import auc, histogram, lift_by_decile, precision_recall, quantile, wilson
from .outcomes import OutcomeIndex

__all__ = ["Observation", "evaluate", "observations", "score_figures"]

DAY = 86400.0
BANDS = ("healthy", "at_risk", "critical")
SEGMENTS = ("standard", "key", "vip", "vulnerable")
SCORE_BINS = 10

Observation = tuple[str, str, float, bool, float]  # (customer, segment, score, left within the horizon, cut-off)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def observations(collector: Collector, index: OutcomeIndex, horizon: float,
                 cutoffs: Iterable[float] | None = None) -> list[Observation]:
    """Every active customer at every cut-off (of ``cutoffs``, default all), with its outcome."""
    found = []
    for cutoff in collector.cutoffs if cutoffs is None else cutoffs:
        for row in collector.snapshots.get(cutoff, ()):
            if index.active_at(row.customer_id, cutoff):
                left = index.churn_after(row.customer_id, cutoff, horizon) is not None
                found.append((row.customer_id, row.segment, row.score, left, cutoff))
    return found


def _band(settings: EngineSettings, score: float) -> str:
    if score >= settings.healthy_at_or_above:
        return "healthy"
    return "critical" if score < settings.critical_below else "at_risk"


def score_figures(rows: list[Observation], settings: EngineSettings) -> dict[str, Any]:
    """AUC, precision and recall at the bands, churn rate by band, lift by decile, the calibration table."""
    risks = [100.0 - score for _, _, score, _, _ in rows]
    outcomes = [int(left) for *_, left, _ in rows]
    churned = sum(outcomes)
    bands: dict[str, dict[str, Any]] = {band: {"customers": 0, "churned": 0} for band in BANDS}
    for (_, _, score, left, _) in rows:
        cell = bands[_band(settings, score)]
        cell["customers"] += 1
        cell["churned"] += int(left)
    for cell in bands.values():
        cell["rate"] = cell["churned"] / cell["customers"] if cell["customers"] else None
    at_risk = [score < settings.healthy_at_or_above for _, _, score, _, _ in rows]
    critical = [score < settings.critical_below for _, _, score, _, _ in rows]
    figures: dict[str, Any] = {
        "customers": len(rows), "churned": churned, "rate": churned / len(rows) if rows else None,
        "auc": auc(risks, outcomes), "bands": bands,
        "at_risk_or_worse": _flagged(at_risk, outcomes), "critical": _flagged(critical, outcomes),
        "deciles": [_decile(d) for d in lift_by_decile(risks, outcomes)],
        "calibration": _calibration(rows),
    }
    return figures


def _flagged(flags: list[bool], outcomes: list[int]) -> dict[str, Any]:
    precision, recall, count = precision_recall(flags, outcomes)
    return {"flagged": count, "precision": precision, "recall": recall}


def _decile(d) -> dict[str, Any]:
    return {"decile": d.decile, "customers": d.customers, "churned": d.churned, "rate": d.rate, "lift": d.lift,
            "score_high": None if d.risk_low is None else 100.0 - d.risk_low,
            "score_low": None if d.risk_high is None else 100.0 - d.risk_high}


def _calibration(rows: list[Observation]) -> list[dict[str, Any]]:
    width = 100 / SCORE_BINS
    cells = [[0, 0] for _ in range(SCORE_BINS)]
    for _, _, score, left, _ in rows:
        i = min(SCORE_BINS - 1, int(score // width))
        cells[i][0] += 1
        cells[i][1] += int(left)
    table = []
    for i, (count, churned) in enumerate(cells):
        low, high = wilson(churned, count)
        table.append({"scores": f"{i * width:g}-{(i + 1) * width:g}", "customers": count, "churned": churned,
                      "rate": churned / count if count else None, "low": low, "high": high})
    return table


def _rules(collector: Collector, index: OutcomeIndex, horizon: float, until: float,
           base_rate: float | None, since: float) -> dict[str, Any]:
    per_rule: dict[str, dict[str, Any]] = {}
    for cid, record in collector.customers.items():
        firsts: dict[str, float] = {}
        for rule, at in sorted(record.alerts, key=lambda item: item[1]):
            firsts.setdefault(rule, at)
        for rule, at in firsts.items():
            if at < since or at + horizon > until or not index.active_at(cid, at):
                continue
            cell = per_rule.setdefault(rule, {"alerted": 0, "churned": 0, "leads": []})
            cell["alerted"] += 1
            left = index.churn_after(cid, at, horizon)
            if left is not None:
                cell["churned"] += 1
                cell["leads"].append((left - at) / DAY)
    customers = len(collector.customers)
    days = max((collector.last_at or 0) - since, 0.0) / DAY
    result = {}
    for rule in sorted(set(per_rule) | set(collector.alert_times)):
        cell = per_rule.get(rule, {"alerted": 0, "churned": 0, "leads": []})
        precision = cell["churned"] / cell["alerted"] if cell["alerted"] else None
        alerts = sum(1 for at in collector.alert_times.get(rule, ()) if at >= since)
        result[rule] = {
            "alerted_customers": cell["alerted"], "churned": cell["churned"], "precision": precision,
            "lift": precision / base_rate if precision is not None and base_rate else None,
            "alerts": alerts,
            "per_1000_customers_per_day": alerts * 1000 / (customers * days) if customers and days else None,
            "median_lead_days": quantile(cell["leads"], 0.5),
        }
    return result


def _lead_times(collector: Collector, index: OutcomeIndex, horizon: float, since: float) -> dict[str, Any]:
    start = max(collector.first_at or 0.0, since)
    leads, churners = [], 0
    for cid, left in index.churns():
        if left - horizon < start:
            continue  # the horizon before it is not all in the stream
        churners += 1
        record = collector.customers.get(cid)
        before = [at for rule, at in (record.alerts if record else ()) if left - horizon <= at < left]
        if before:
            leads.append((left - min(before)) / DAY)
    edges = [horizon / DAY * i / 10 for i in range(11)]
    return {
        "churners": churners, "alerted_before": len(leads),
        "share_alerted": len(leads) / churners if churners else None,
        "median_days": quantile(leads, 0.5), "q1_days": quantile(leads, 0.25), "q3_days": quantile(leads, 0.75),
        "histogram": {"edges_days": edges, "counts": histogram(leads, edges)},
        "leads_days": sorted(leads),
    }


def evaluate(collector: Collector, index: OutcomeIndex, settings: EngineSettings, horizon: float,
             until: float, extra: dict[str, Any] | None = None, cutoffs: list[float] | None = None,
             since: float | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready dict.

    ``cutoffs`` limits the score figures to some of the collector's cut-offs; ``since``
    limits rules and lead times to alerts and departures from then on (a held-out range).
    """
    cutoffs = list(collector.cutoffs if cutoffs is None else cutoffs)
    since = collector.first_at or 0.0 if since is None else since
    late = [c for c in cutoffs if c + horizon > until]
    if late:
        raise BacktestError(f"cut-off {_iso(late[0])} plus the horizon ({horizon / DAY:g} d) ends after "
                            f"{_iso(until)}, the end of what was observed: outcomes are not known that far")
    rows = observations(collector, index, horizon, cutoffs)
    overall = score_figures(rows, settings)
    segments = {}
    for segment in SEGMENTS:
        mine = [row for row in rows if row[1] == segment]
        if mine:
            segments[segment] = score_figures(mine, settings)
    counts = index.counts
    return {
        **(extra or {}),
        "period": {"first_event": _iso(collector.first_at), "last_event": _iso(collector.last_at),
                   "observed_until": _iso(until), "cutoffs": [_iso(c) for c in cutoffs],
                   "alerts_since": _iso(since),
                   "horizon_days": horizon / DAY},
        "customers_seen": len(collector.customers),
        "join": {"stream_outcomes": counts.stream, "file_outcomes": counts.file, "kept": counts.kept,
                 "duplicates": counts.duplicates, "unknown_customers": counts.unknown_customers,
                 "before_first_event": counts.before_first_event, "customers_who_left": counts.customers_who_left,
                 "reasons": dict(sorted(counts.reasons.items()))},
        "overall": overall,
        "segments": segments,
        "rules": _rules(collector, index, horizon, until, overall["rate"], since),
        "lead_time": _lead_times(collector, index, horizon, since),
    }


def outcome_events(collector: Collector, file_outcomes: Iterable[Any], stream: bool = True) -> list:
    """Outcomes of both sources as :class:`~.outcomes.OutcomeEvent`."""
    from .outcomes import OutcomeEvent

    found = [OutcomeEvent(cid, at, action, reason, "stream") for cid, at, action, reason in collector.outcomes] if stream else []
    found += [OutcomeEvent(o.customer_id, o.churned_at.timestamp(), o.action, o.reason, "file") for o in file_outcomes]
    return found
