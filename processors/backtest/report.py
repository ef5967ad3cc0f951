"""The backtest's terminal summary (Rich tables) from its report dict."""

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_report", "pct", "num"]


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _score_table(report: dict[str, Any]) -> Table:
    table = Table(title="The score at the cut-off against who left within the horizon", title_justify="left")
    for column in ("", "customers", "left", "rate", "ROC AUC", "top-decile lift", "at risk or worse: precision",
                   "recall", "critical: precision", "recall"):
        table.add_column(column, justify="left" if not column else "right")
    groups = [("overall", report["overall"]), *report["segments"].items()]
    for name, figures in groups:
        top = figures["deciles"][0]["lift"] if figures["deciles"] else None
        flagged, critical = figures["at_risk_or_worse"], figures["critical"]
        table.add_row(name, f"{figures['customers']:,}", f"{figures['churned']:,}", pct(figures["rate"]),
                      num(figures["auc"], 3), num(top), pct(flagged["precision"]), pct(flagged["recall"]),
                      pct(critical["precision"]), pct(critical["recall"]))
    return table


def _bands_table(figures: dict[str, Any]) -> Table:
    table = Table(title="Churn rate by band (overall)", title_justify="left")
    for column in ("band", "customers", "left", "rate"):
        table.add_column(column, justify="right" if column != "band" else "left")
    for band, cell in figures["bands"].items():
        table.add_row(band, f"{cell['customers']:,}", f"{cell['churned']:,}", pct(cell["rate"]))
    return table


def _deciles_table(figures: dict[str, Any]) -> Table:
    table = Table(title="Lift by score decile (1 = lowest scores)", title_justify="left")
    for column in ("decile", "scores", "customers", "left", "rate", "lift"):
        table.add_column(column, justify="right")
    for d in figures["deciles"]:
        scores = "" if d["score_low"] is None else f"{d['score_low']:.1f}-{d['score_high']:.1f}"
        table.add_row(str(d["decile"]), scores, f"{d['customers']:,.1f}", f"{d['churned']:,.1f}", pct(d["rate"]),
                      num(d["lift"]))
    return table


def _rules_table(report: dict[str, Any]) -> Table:
    table = Table(title="Rules: alerted customers who left within the horizon of their first alert",
                  title_justify="left")
    for column in ("rule", "alerted", "left", "precision", "lift", "alerts", "per 1,000 customers a day",
                   "median lead (days)"):
        table.add_column(column, justify="right" if column != "rule" else "left")
    for rule, cell in report["rules"].items():
        table.add_row(rule, f"{cell['alerted_customers']:,}", f"{cell['churned']:,}", pct(cell["precision"]),
                      num(cell["lift"]), f"{cell['alerts']:,}", num(cell["per_1000_customers_per_day"]),
                      num(cell["median_lead_days"], 1))
    return table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """Print the summary: what was replayed, the join, the score, the bands, the deciles, the rules, the lead time."""
    period, join, lead = report["period"], report["join"], report["lead_time"]
    console.rule("[bold]cxpulse backtest")
    console.print(f"source: {report['source']}; events {period['first_event']} .. {period['last_event']}")
    console.print(f"cut-off {', '.join(period['cutoffs'])}, horizon {period['horizon_days']:g} d "
                  f"(outcomes observed until {period['observed_until']}); {report['customers_seen']:,} customers seen")
    if report["settings_changed"]:
        console.print("settings changed: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in report["settings_changed"].items()))
    console.print(f"outcomes: {join['stream_outcomes']:,} account events, {join['file_outcomes']:,} from the file; "
                  f"{join['kept']:,} kept, {join['duplicates']:,} duplicates, {join['unknown_customers']:,} of unknown "
                  f"customers, {join['before_first_event']:,} before the customer's first event; "
                  f"{join['customers_who_left']:,} customers left")
    console.print(_score_table(report))
    console.print(_bands_table(report["overall"]))
    console.print(_deciles_table(report["overall"]))
    console.print(_rules_table(report))
    console.print(f"Lead time: {lead['alerted_before']:,} of {lead['churners']:,} customers who left "
                  f"({pct(lead['share_alerted'])}) had an alert in the {period['horizon_days']:g} d before; "
                  f"the first came a median {num(lead['median_days'], 1)} d before they left "
                  f"(quartiles {num(lead['q1_days'], 1)} .. {num(lead['q3_days'], 1)} d).")
