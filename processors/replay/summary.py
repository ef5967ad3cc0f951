"""A replay's outcome as plain data: ``summary.json`` and what the Rich report shows."""

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from cxpulse.schemas import Alert, ScoreSnapshot
from cxpulse.schemas.outputs import RULES

from .diff import AlertDiff
from .run import ReplayResult

__all__ = ["BANDS", "summarize", "top_customers"]

BANDS = ("healthy", "at_risk", "critical")
SEVERITIES = ("info", "warning", "critical")


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def top_customers(alerts: list[Alert], snapshots: dict[str, ScoreSnapshot], limit: int) -> list[dict[str, Any]]:
    """Customers with the most alerts: count, rules, final score and band."""
    counts = Counter(a.customer_id for a in alerts if a.customer_id is not None)
    rules: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        if alert.customer_id is not None:
            rules[alert.customer_id][alert.rule] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    rows = []
    for customer, count in ranked:
        snap = snapshots.get(customer)
        rows.append({"customer_id": customer, "alerts": count, "rules": dict(sorted(rules[customer].items())),
                     "score": None if snap is None else round(snap.score, 1),
                     "risk_band": None if snap is None else snap.risk_band})
    return rows


def _alerts_by_rule(alerts: list[Alert]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in {(a.alert_id, a.status): a for a in alerts}.values():  # an updated incident counts once
        table[alert.rule][alert.severity] += 1
    return {rule: dict(table[rule]) for rule in RULES if rule in table}


def summarize(result: ReplayResult, snapshots: list[ScoreSnapshot], *, source: str, since_ms: int | None,
              until_ms: int | None, warmup: str | None, settings_changed: dict[str, tuple[Any, Any]],
              top: int = 10, diff: AlertDiff | None = None, live_alerts: int | None = None) -> dict[str, Any]:
    """Everything the report shows, JSON-ready."""
    counts = result.counts
    bands: Counter[str] = Counter(s.risk_band for s in snapshots)
    by_id = {s.customer_id: s for s in snapshots}
    data: dict[str, Any] = {
        "partial": result.partial,
        "source": source,
        "range": {"since": _iso(since_ms), "until": _iso(until_ms), "warmup": warmup,
                  "first_record_at": _iso(result.first_ms), "last_record_at": _iso(result.last_ms)},
        "settings_changed": {k: {"from": a, "to": b} for k, (a, b) in settings_changed.items()},
        "events": {"read": counts.read, "valid": counts.valid, "invalid": counts.invalid,
                   "duplicates": counts.duplicates, "warmup": counts.warmup, "other_customers": counts.skipped},
        "invalid_reasons": dict(counts.reasons.most_common(10)),
        "alerts": {"total": len(result.alerts), "by_rule": _alerts_by_rule(result.alerts)},
        "customers": {"total": len(snapshots), "by_band": {band: bands.get(band, 0) for band in BANDS}},
        "top_customers": top_customers(result.alerts, by_id, top),
        "elapsed_seconds": round(result.elapsed, 3),
        "events_per_second": round((counts.read + counts.warmup) / result.elapsed) if result.elapsed > 0 else None,
    }
    if diff is not None:
        data["diff"] = {"live_alerts": live_alerts, "unchanged": diff.unchanged, "changed": len(diff.changed),
                        "added": len(diff.added), "removed": len(diff.removed),
                        "by_rule": {r: {"added": a, "removed": d, "changed": c}
                                    for r, (a, d, c) in diff.by_rule().items()}}
    return data
