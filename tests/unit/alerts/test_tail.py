"""cxpulse alerts tail: filters, the live table and the plain lines."""

import io

import pytest
from rich.console import Console

from cxpulse.alerts.console import alert_line
from cxpulse.alerts.live import AlertFilter, AlertTable
from cxpulse.alerts.tail_cmd import show_alerts
from cxpulse.errors import CxpulseError


def _console(width: int = 200, terminal: bool = False) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=terminal, color_system="standard" if terminal else None,
                   highlight=False), out


@pytest.mark.parametrize(("options", "passes"), [
    ({}, [True, True, True, True]),
    ({"severity": ["critical"]}, [False, True, False, True]),
    ({"severity": ["warning,critical"]}, [True, True, False, True]),
    ({"segment": ["vip"]}, [False, True, False, False]),
    ({"service_type": ["Outage"]}, [False, False, False, True]),
    ({"rule": ["repeat_contact", "detractor"]}, [True, True, True, False]),
    ({"severity": ["critical"], "segment": ["vip"]}, [False, True, False, False]),
])
def test_filters_combine(alert_factory, options, passes):
    alerts = [
        alert_factory(severity="warning"),
        alert_factory(severity="critical", segment="vip"),
        alert_factory(rule="detractor", severity="info"),
        alert_factory(rule="incident", severity="critical", customer_id=None, segment=None, service_type="outage"),
    ]
    wanted = AlertFilter.of(**options)

    assert [wanted.matches(a) for a in alerts] == passes


def test_unknown_filter_values_are_a_one_line_error():
    with pytest.raises(CxpulseError, match="--severity: unknown value urgent"):
        AlertFilter.of(severity=["urgent"])
    with pytest.raises(CxpulseError, match="--segment: unknown value gold"):
        AlertFilter.of(segment=["gold"])


def test_plain_lines_when_not_a_terminal(alert_factory):
    out, text = _console()
    alerts = [alert_factory(customer_id="C-1", score=43.21, risk_band="at_risk", segment="vip"),
              alert_factory(severity="critical"), alert_factory()]

    shown = show_alerts(iter(alerts), out, AlertFilter.of(severity=["warning"]), live=False, limit=1)

    lines = text.getvalue().splitlines()
    assert shown == 1 and len(lines) == 1
    assert lines[0] == alert_line(alerts[0])
    for part in ("2025-03-03 09:00:00", "WARNING", "repeat_contact", "C-1", "billing", "vip", "43.2 at_risk",
                 alerts[0]["summary"]):
        assert part in lines[0]


def test_live_table_shows_the_newest_first_with_coloured_severity(alert_factory):
    out, text = _console(terminal=True)
    alerts = [alert_factory(customer_id="OLDEST", severity="warning"),
              alert_factory(customer_id="MIDDLE", severity="critical"),
              alert_factory(customer_id="NEWEST", rule="incident", severity="critical")]

    shown = show_alerts(iter(alerts), out, AlertFilter(), live=True, rows=2)

    screen = text.getvalue()
    assert shown == 3
    final = screen[screen.rfind("cxpulse alerts"):]  # the last redraw
    assert final.index("NEWEST") < final.index("MIDDLE")
    assert "OLDEST" not in final  # only the newest `rows`
    assert "\x1b[" in screen and "CRITICAL" in final
    assert "shown: 2 critical, 1 warning" in final


def test_table_marks_resolved_alerts_and_scoreless_incidents(alert_factory):
    table = AlertTable()
    table.add(alert_factory(status="resolved", rule="sla_breach"))
    table.add(alert_factory(rule="incident", customer_id=None, segment=None, score=None, risk_band=None))
    out, text = _console()
    out.print(table)

    screen = text.getvalue()
    assert "sla_breach (resolved)" in screen
    incident_row = next(line for line in screen.splitlines() if "incident" in line)
    assert incident_row.count(" - ") >= 2  # no customer, no segment
