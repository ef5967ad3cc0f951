"""The supervisor's screen: a live Rich table of the newest alerts, and the filters of ``alerts tail``."""

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cxpulse.errors import CxpulseError

from .console import alert_time, score_band

__all__ = ["AlertFilter", "AlertTable", "SEVERITY_STYLES"]

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
    allowed = _CHOICES.get(option)
    unknown = sorted(values - set(allowed)) if allowed else []
    if unknown:
        raise CxpulseError(f"--{option}: unknown value {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return values


def _passes(wanted: frozenset[str], value: Any) -> bool:
    return not wanted or str(value or "").lower() in wanted


class AlertTable:
    """The newest ``rows`` alerts (newest on top) and counts of everything shown so far."""

    def __init__(self, rows: int = 25, title: str = "cxpulse alerts") -> None:
        self.rows: deque[dict[str, Any]] = deque(maxlen=rows)
        self.title = title
        self.by_severity: Counter[str] = Counter()
        self.caption = ""

    def add(self, alert: dict[str, Any]) -> None:
        self.rows.appendleft(alert)
        self.by_severity[str(alert.get("severity", "?"))] += 1

    def __rich__(self) -> Group:
        table = Table(title=self.title, expand=True, header_style="bold", row_styles=["", "dim"])
        for name, options in (("time", {"no_wrap": True}), ("severity", {"no_wrap": True}),
                              ("rule", {"no_wrap": True}), ("customer", {"no_wrap": True}),
                              ("service type", {"no_wrap": True}), ("segment", {"no_wrap": True}),
                              ("score / band", {"no_wrap": True, "justify": "right"}),
                              ("summary", {"ratio": 1, "overflow": "ellipsis", "no_wrap": True})):
            table.add_column(name, **options)
        for alert in self.rows:
            table.add_row(*self._cells(alert))
        counts = ", ".join(f"{n} {sev}" for sev, n in sorted(self.by_severity.items())) or "none yet"
        return Group(table, Text(f"shown: {counts}. {self.caption}".strip(), style="dim"))

    @staticmethod
    def _cells(alert: dict[str, Any]) -> list[Text | str]:
        severity = str(alert.get("severity", "?"))
        rule = str(alert.get("rule", "?"))
        if alert.get("status", "firing") != "firing":
            rule += f" ({alert['status']})"
        return [alert_time(alert), Text(severity.upper(), style=SEVERITY_STYLES.get(severity, "")), rule,
                str(alert.get("customer_id") or "-"), str(alert.get("service_type", "-")),
                str(alert.get("segment") or "-"), score_band(alert), str(alert.get("summary", ""))]
