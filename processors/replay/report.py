"""The replay's readable report (Rich), drawn from the same data as ``summary.json``."""

from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from cxpulse.processors.engine.alerting import score_text

from .diff import AlertDiff
from .summary import BANDS, SEVERITIES

__all__ = ["print_diff", "print_summary"]

BAND_STYLE = {"healthy": "green", "at_risk": "yellow", "critical": "red"}
DIFF_LISTED = 15


def print_summary(console: Console, data: dict[str, Any]) -> None:
    """Source, range, counts, alerts by rule and severity, bands, top alerted customers."""
    if data["partial"]:
        console.print("[bold red]PARTIAL REPORT[/]: the replay was stopped before the end of the range; "
                      "counts, alerts and scores cover only the records read so far.")
    console.print(f"[bold]Replay[/] of {data['source']}")
    rng = data["range"]
    console.print(f"range: {rng['since'] or 'beginning'} .. {rng['until'] or 'end'}"
                  + (f" (warm-up {rng['warmup']}: {data['events']['warmup']} records before it)" if rng["warmup"] else ""))
    for name, change in data["settings_changed"].items():
        console.print(f"setting: engine.{name} {change['from']} -> {change['to']}")
    console.print(_events(data), _alerts(data), _bands(data))
    if data["top_customers"]:
        console.print(_top(data))
    if data["invalid_reasons"]:
        console.print(_reasons(data))
    rate = data["events_per_second"]
    console.print(f"{data['elapsed_seconds']:.1f} s" + (f", {rate:,} events/s" if rate else ""))


def _events(data: dict[str, Any]) -> Table:
    events = data["events"]
    table = Table(title="Events", title_justify="left")
    table.add_column("records")
    table.add_column("count", justify="right")
    for name in ("read", "valid", "invalid", "duplicates"):
        table.add_row(name, f"{events[name]:,}")
    if events["warmup"]:
        table.add_row("warm-up (state only)", f"{events['warmup']:,}")
    if events["other_customers"]:
        table.add_row("other customers (skipped)", f"{events['other_customers']:,}")
    return table


def _alerts(data: dict[str, Any]) -> Table:
    table = Table(title=f"Alerts ({data['alerts']['total']:,})", title_justify="left")
    table.add_column("rule")
    for severity in SEVERITIES[1:]:
        table.add_column(severity, justify="right")
    table.add_column("total", justify="right")
    for rule, counts in data["alerts"]["by_rule"].items():
        cells = [str(counts.get(s, 0)) for s in SEVERITIES[1:]]
        table.add_row(rule, *cells, str(sum(counts.values())))
    return table


def _bands(data: dict[str, Any]) -> Table:
    customers = data["customers"]
    table = Table(title=f"Customers ({customers['total']:,})", title_justify="left")
    table.add_column("risk band")
    table.add_column("customers", justify="right")
    for band in BANDS:
        table.add_row(f"[{BAND_STYLE[band]}]{band}[/]", f"{customers['by_band'][band]:,}")
    return table


def _top(data: dict[str, Any]) -> Table:
    table = Table(title="Most alerted customers", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (("customer", "left"), ("alerts", "right"), ("rules", "left"),
                                                      ("final score", "right"), ("band", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in data["top_customers"]:
        rules = ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in row["rules"].items())
        band = row["risk_band"] or ""
        table.add_row(row["customer_id"], str(row["alerts"]), rules,
                      "" if row["score"] is None else score_text(row["score"]),
                      f"[{BAND_STYLE.get(band, '')}]{band}[/]" if band else "")
    return table


def _reasons(data: dict[str, Any]) -> Table:
    table = Table(title="Invalid records by reason", title_justify="left")
    table.add_column("reason")
    table.add_column("records", justify="right")
    for reason, count in data["invalid_reasons"].items():
        table.add_row(reason, str(count))
    return table


def print_diff(console: Console, data: dict[str, Any], diff: AlertDiff) -> None:
    """Counts against the live alerts, by rule, and the first few differences."""
    counts = data["diff"]
    console.print(f"[bold]Diff against the live alerts[/] ({counts['live_alerts']} read from the alerts topic): "
                  f"{counts['unchanged']} unchanged, {counts['changed']} changed, "
                  f"{counts['added']} added, {counts['removed']} removed")
    if diff.empty:
        return
    table = Table(title="By rule", title_justify="left")
    for column in ("rule", "added", "removed", "changed"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for rule, c in counts["by_rule"].items():
        table.add_row(rule, str(c["added"]), str(c["removed"]), str(c["changed"]))
    console.print(table)
    console.print(_listing(diff))


def _listing(diff: AlertDiff) -> Table:
    total = len(diff.added) + len(diff.removed) + len(diff.changed)
    table = Table(title=f"Differences (first {min(total, DIFF_LISTED)} of {total}; all in diff.jsonl)",
                  title_justify="left")
    for column in ("", "rule", "customer", "service", "triggered at", "what"):
        table.add_column(column)
    rows = [("[red]-[/]", a, f"{a.severity}, only live") for a in diff.removed]
    rows += [("[green]+[/]", a, f"{a.severity}, only in the replay") for a in diff.added]
    rows += [("[yellow]~[/]", c.live, _what(c)) for c in diff.changed]
    rows.sort(key=lambda row: (row[1].triggered_at, row[1].alert_id))
    for mark, alert, what in rows[:DIFF_LISTED]:
        table.add_row(mark, alert.rule, alert.customer_id or "", alert.service_type,
                      alert.triggered_at.strftime("%Y-%m-%d %H:%M:%S"), what)
    return table


def _what(change) -> str:
    parts = []
    for c in change.changes:
        if c.field == "evidence":
            added, removed = len(set(c.replay) - set(c.live)), len(set(c.live) - set(c.replay))
            parts.append(f"evidence +{added}/-{removed}")
        elif c.field == "triggered_at":
            parts.append(f"triggered {c.live:%m-%d %H:%M:%S} -> {c.replay:%m-%d %H:%M:%S}")
        elif c.field == "score" and c.live is not None and c.replay is not None:
            parts.append(f"score {score_text(c.live)} -> {score_text(c.replay)}")
        elif c.field != "summary":
            parts.append(f"{c.field} {c.live} -> {c.replay}")
    return ", ".join(parts) or "summary text"
