"""The backtest's HTML report: one self-contained file, the plots embedded as PNG (matplotlib, Agg).

matplotlib is the ``analytics`` extra (``pip install 'cxpulse[analytics]'``); without it
``--html`` says so in one line. :func:`figures` also writes the PNG files alone
(``--plots DIR``), as docs/backtest.md shows them.
"""

import base64
import html
import io
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

from .errors import BacktestError
from .report import num, pct

__all__ = ["figures", "write_html", "write_plots"]

PLOTS = ("calibration", "lift", "lead_time")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BacktestError("plots need matplotlib: pip install 'cxpulse[analytics]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _calibration(plt, report: dict[str, Any], title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, figures in (("overall", report["overall"]), *report["segments"].items()):
        rows = [row for row in figures["calibration"] if row["customers"]]
        if name != "overall" and len(rows) < 2:
            continue
        mids = [float(row["scores"].split("-")[0]) + 5 for row in rows]
        rates = [row["rate"] for row in rows]
        if name == "overall":
            errors = [[r - row["low"] for r, row in zip(rates, rows, strict=True)],
                      [row["high"] - r for r, row in zip(rates, rows, strict=True)]]
            ax.errorbar(mids, rates, yerr=errors, fmt="o-", color="black", capsize=3, label="overall (95 % CI)")
        else:
            ax.plot(mids, rates, ".--", alpha=0.6, label=name)
    ax.set_xlabel("experience score at the cut-off (bins of 10)")
    ax.set_ylabel(f"share who left within {report['period']['horizon_days']:g} d")
    ax.axvline(report["bands"]["healthy_at_or_above"], color="orange", lw=0.8, ls=":")
    ax.axvline(report["bands"]["critical_below"], color="red", lw=0.8, ls=":")
    ax.set_xlim(0, 100)
    ax.set_title(title or "Calibration: churn rate by score")
    ax.legend(fontsize=8)
    return fig


def _lift(plt, report: dict[str, Any], title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    deciles = report["overall"]["deciles"]
    ax.bar([d["decile"] for d in deciles], [d["lift"] or 0 for d in deciles], color="steelblue")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("score decile (1 = the lowest scores)")
    ax.set_ylabel("lift (churn rate / overall rate)")
    ax.set_xticks([d["decile"] for d in deciles])
    ax.set_title(title or f"Lift by decile (AUC {num(report['overall']['auc'], 3)})")
    return fig


def _lead_time(plt, report: dict[str, Any], title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    lead = report["lead_time"]
    edges, counts = lead["histogram"]["edges_days"], lead["histogram"]["counts"]
    ax.bar(edges[:-1], counts, width=[b - a for a, b in pairwise(edges)], align="edge", color="seagreen",
           edgecolor="white")
    ax.set_xlabel("days from the first alert to leaving")
    ax.set_ylabel("customers who left")
    ax.set_title(title or f"Lead time ({lead['alerted_before']} of {lead['churners']} leavers alerted before)")
    return fig


def figures(report: dict[str, Any], titles: dict[str, str] | None = None) -> dict[str, bytes]:
    """Plot name -> PNG bytes."""
    plt = _pyplot()
    titles = titles or {}
    found = {}
    for name, draw in (("calibration", _calibration), ("lift", _lift), ("lead_time", _lead_time)):
        fig = draw(plt, report, titles.get(name, ""))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        found[name] = buffer.getvalue()
    return found


def write_plots(report: dict[str, Any], directory: Path, prefix: str = "backtest-") -> list[Path]:
    """The PNG files, e.g. ``backtest-lift.png``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in figures(report).items():
        path = directory / f"{prefix}{name.replace('_', '-')}.png"
        path.write_bytes(png)
        written.append(path)
    return written


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(report: dict[str, Any], path: Path, title: str = "cxpulse backtest") -> None:
    """One self-contained HTML file: the figures, the tables and the report as JSON."""
    images = figures(report)
    period = report["period"]
    score_rows = [[name, f"{f['customers']:,}", f"{f['churned']:,}", pct(f["rate"]), num(f["auc"], 3),
                   num(f["deciles"][0]["lift"] if f["deciles"] else None), pct(f["at_risk_or_worse"]["precision"]),
                   pct(f["at_risk_or_worse"]["recall"])]
                  for name, f in (("overall", report["overall"]), *report["segments"].items())]
    band_rows = [[band, f"{c['customers']:,}", f"{c['churned']:,}", pct(c["rate"])]
                 for band, c in report["overall"]["bands"].items()]
    rule_rows = [[rule, f"{c['alerted_customers']:,}", f"{c['churned']:,}", pct(c["precision"]), num(c["lift"]),
                  f"{c['alerts']:,}", num(c["per_1000_customers_per_day"]), num(c["median_lead_days"], 1)]
                 for rule, c in report["rules"].items()]
    pictures = "".join(f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                       f"</figure>" for name, png in images.items())
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
figure{{display:inline-block;margin:0.5em}}pre{{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(report['source'])}: events {html.escape(str(period['first_event']))} .. {html.escape(str(period['last_event']))};
cut-off {html.escape(', '.join(period['cutoffs']))}; horizon {period['horizon_days']:g} days; {report['customers_seen']:,} customers seen.</p>
{pictures}
<h2>The score against who left</h2>
{_table(["", "customers", "left", "rate", "ROC AUC", "top-decile lift", "at risk or worse: precision", "recall"], score_rows)}
<h2>Churn rate by band</h2>
{_table(["band", "customers", "left", "rate"], band_rows)}
<h2>Rules</h2>
{_table(["rule", "alerted", "left", "precision", "lift", "alerts", "per 1,000 customers a day", "median lead (days)"], rule_rows)}
<h2>The report as JSON</h2>
<pre>{html.escape(json.dumps(report, indent=2))}</pre>
</body></html>
"""
    path.write_text(document, encoding="utf-8")
