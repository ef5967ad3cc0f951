"""The supervisor's screen: a live Rich table of the newest alerts, and the filters of ``alerts tail``."""

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from cxpulse.errors import CxpulseError

from .console import alert_time, score_band

__all__ = ["SEVERITY_STYLES", "AlertFilter", "AlertTable"]

SEVERITY_STYLES = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}
_CHOICES = {
    "severity": ("info", "warning", "critical"),
    "segment": ("standard", "key", "vip", "vulnerable"),
    "rule": ("repeat_contact", "sensitive_customer", "sensitive_contact", "detractor", "sla_breach", "churn_risk",
             "incident"),
}


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to show; an empty set lets every value through. Values compare lower-case."""

    severities: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    service_types: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()

    @classmethod
    def of(cls, severity: Iterable[str] = (), segment: Iterable[str] = (), service_type: Iterable[str] = (),
           rule: Iterable[str] = ()) -> "AlertFilter":
        """Build from option values (repeatable, or comma-separated); unknown values are an error."""
        return cls(_values("severity", severity), _values("segment", segment), _values("service-type", service_type),
                   _values("rule", rule))

    def matches(self, alert: dict[str, Any]) -> bool:
        return (_passes(self.severities, alert.get("severity")) and _passes(self.segments, alert.get("segment"))
                and _passes(self.service_types, alert.get("service_type")) and _passes(self.rules, alert.get("rule")))

    def describe(self) -> str:
        parts = [f"{name}={','.join(sorted(values))}" for name, values in
                 (("severity", self.severities), ("segment", self.segments), ("service-type", self.service_types),
                  ("rule", self.rules)) if values]
        return " ".join(parts) or "all alerts"


def _values(option: str, given: Iterable[str]) -> frozenset[str]:
    values = frozenset(v.strip().lower() for item in given for v in item.split(",") if v.strip())
    allowed = _CHOICES.get(option, ())
    unknown = sorted(values - set(allowed)) if allowed else []
    if unknown:
        raise CxpulseError(f"--{option}: unknown value {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return values


def _passes(wanted: frozenset[str], value: Any) -> bool:
    return not wanted or str(value or "").lower() in wanted


class AlertTable:
    """The newest ``rows`` alerts (newest on top) and counts of everything shown so far.

    Columns fit the terminal: from 130 columns everything; narrower, the segment, then the
    score and service type give way, and times shorten; the customer id is never cut (its
    column is as wide as the longest id shown, folded only if it is wider than the screen).
    """

    def __init__(self, rows: int = 25, title: str = "cxpulse alerts") -> None:
        self.rows: deque[dict[str, Any]] = deque(maxlen=rows)
        self.title = title
        self.by_severity: Counter[str] = Counter()
        self.caption = ""

    def add(self, alert: dict[str, Any]) -> None:
        self.rows.appendleft(alert)
        self.by_severity[str(alert.get("severity", "?"))] += 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.render(options.max_width)

    def render(self, width: int) -> Group:
        """The table for a screen ``width`` columns wide."""
        cells = [self._cells(alert, width) for alert in self.rows]
        columns, widths = _layout(width, cells)
        table = Table(title=self.title, expand=True, header_style="bold", row_styles=["", "dim"],
                      box=box.HEAVY_HEAD if width >= 100 else box.SIMPLE_HEAD)
        for name in columns:
            options = dict(_COLUMN_OPTIONS[name])
            if name in widths:
                options["width"] = widths[name]
            table.add_column("sev" if name == "severity" and width < 100 else name, **options)
        for row in cells:
            table.add_row(*(row[name] for name in columns))
        counts = ", ".join(f"{n} {sev}" for sev, n in sorted(self.by_severity.items())) or "none yet"
        return Group(table, Text(f"shown: {counts}. {self.caption}".strip(), style="dim"))

    @staticmethod
    def _cells(alert: dict[str, Any], width: int) -> dict[str, Text | str]:
        severity = str(alert.get("severity", "?"))
        rule = str(alert.get("rule", "?"))
        if alert.get("status", "firing") != "firing":
            rule += f" ({alert['status']})"
        moment = alert_time(alert)
        label = severity.upper() if width >= 100 else _SHORT_SEVERITY.get(severity, severity.upper()[:4])
        return {"time": moment if width >= 130 else moment[11:] or moment,
                "severity": Text(label, style=SEVERITY_STYLES.get(severity, "")), "rule": rule,
                "customer": str(alert.get("customer_id") or "-"), "service type": str(alert.get("service_type", "-")),
                "segment": str(alert.get("segment") or "-"), "score / band": score_band(alert),
                "summary": str(alert.get("summary", ""))}


_SHORT_SEVERITY = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}
_COLUMN_OPTIONS: dict[str, dict[str, Any]] = {
    "time": {"no_wrap": True, "overflow": "ellipsis"}, "severity": {"no_wrap": True},
    "rule": {"no_wrap": True, "overflow": "ellipsis"},
    "customer": {"no_wrap": False, "overflow": "fold"}, "service type": {"no_wrap": True, "overflow": "ellipsis"},
    "segment": {"no_wrap": True, "overflow": "ellipsis"},
    "score / band": {"no_wrap": True, "justify": "right", "overflow": "ellipsis"},
    "summary": {"overflow": "ellipsis", "no_wrap": True},
}


def _columns(width: int) -> list[str]:
    """The columns a screen of ``width`` has room for, in order."""
    if width >= 130:
        return ["time", "severity", "rule", "customer", "service type", "segment", "score / band", "summary"]
    if width >= 100:
        return ["time", "severity", "rule", "customer", "service type", "score / band", "summary"]
    return ["time", "severity", "rule", "customer", "summary"]


_MIN_WIDTHS = {"time": 8, "severity": 4, "rule": 8, "service type": 6, "segment": 5, "score / band": 6, "summary": 8}
_SHRINK_FIRST = ("rule", "service type", "score / band", "segment", "time")


def _layout(width: int, cells: list[dict[str, Text | str]]) -> tuple[list[str], dict[str, int]]:
    """Columns and their widths: the customer column as wide as its longest id, the summary
    what is left; when that is not enough the other columns shrink (their text ends in an
    ellipsis), then the summary goes (``--lines`` has it whole). Only an id wider than all
    the screen can give is folded onto a second line: it is never cut."""
    columns = _columns(width)
    natural = {name: max([len("sev" if name == "severity" and width < 100 else name)]
                         + [len(str(row[name])) for row in cells]) for name in columns}
    widths, room = _fit(columns, natural, width)
    if widths["customer"] < natural["customer"] or room < 0:
        columns.remove("summary")
        widths, room = _fit(columns, natural, width)
    if "summary" in columns:
        widths["summary"] = room
    return columns, widths


def _fit(columns: list[str], natural: dict[str, int], width: int) -> tuple[dict[str, int], int]:
    """Widths of every column but the summary, and the room left for the summary (< 0: none)."""
    summary = _MIN_WIDTHS["summary"] if "summary" in columns else 0
    room = width - 3 * len(columns) - 1 - summary  # each cell's padding, the rules between and around them
    fixed = [name for name in columns if name not in ("customer", "summary")]
    widths = {name: natural[name] for name in fixed}
    widths["customer"] = min(natural["customer"], max(8, room - sum(min(_MIN_WIDTHS[n], natural[n]) for n in fixed)))
    excess = sum(widths.values()) - room
    for name in _SHRINK_FIRST:
        if excess <= 0:
            break
        if name in widths:
            cut = min(excess, widths[name] - min(_MIN_WIDTHS[name], widths[name]))
            widths[name] -= cut
            excess -= cut
    return widths, summary - excess
