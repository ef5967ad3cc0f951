"""cxpulse alerts tail: filters, the live table and the plain lines."""

import io

import pytest
from cxpulse.alerts.console import alert_line
from cxpulse.alerts.live import AlertFilter, AlertTable
from cxpulse.alerts.tail_cmd import show_alerts
from rich.console import Console

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


LONG_ID = "cust-42-0000000001-abcdef"  # 25 characters: longer than the old 14-character column


def _plain(table: AlertTable, width: int) -> str:
    out, text = _console(width=width)  # no colours: plain text to search
    out.print(table)
    return text.getvalue()


def _id_pieces(screen: str, alphabet: str) -> str:
    """The customer id as printed, folded lines joined (tokens made only of its characters)."""
    import re

    lines = screen.split("shown:")[0].splitlines()
    return "".join(t for line in lines for t in line.split() if re.fullmatch(f"[{alphabet}]+", t))


@pytest.mark.parametrize("width", [60, 80, 99, 100, 120, 130, 200])
def test_the_live_table_shows_whole_customer_ids_at_any_width(alert_factory, width):
    table = AlertTable()
    table.add(alert_factory(customer_id=LONG_ID, summary="x" * 300))
    table.add(alert_factory(customer_id="C-7", rule="sla_breach", status="resolved"))
    screen = _plain(table, width)
    assert LONG_ID in screen and "C-7" in screen  # on one line
    assert max(len(line) for line in screen.splitlines()) <= width


@pytest.mark.parametrize("width", [40, 60, 80])
def test_an_id_wider_than_the_screen_allows_is_folded_never_cut(alert_factory, width):
    longest = "C" + "0123456789" * 6 + "xyz"  # the contract's maximum, 64 characters
    table = AlertTable()
    table.add(alert_factory(customer_id=longest))
    screen = _plain(table, width)
    assert _id_pieces(screen, "C0-9xyz") == longest
    assert max(len(line) for line in screen.splitlines()) <= width


def test_narrow_screens_drop_columns_before_the_customer(alert_factory):
    table = AlertTable()
    table.add(alert_factory(customer_id=LONG_ID, segment="vip", service_type="installation"))
    wide, middle, narrow = _plain(table, 140), _plain(table, 110), _plain(table, 80)
    assert "segment" in wide and "installation" in wide and "2025-03-03 09:00:00" in wide
    assert "segment" not in middle and "installation" in middle
    assert "segment" not in narrow and "service type" not in narrow
    assert "09:00:00" in narrow and "2025-03-03" not in narrow and "WARN" in narrow


def _renders(monkeypatch) -> list[int]:
    renders: list[int] = []
    original = AlertTable.render
    monkeypatch.setattr(AlertTable, "render", lambda self, width: renders.append(width) or original(self, width))
    return renders


@pytest.mark.parametrize("idle_polls", [0, 500])
def test_a_quiet_console_does_not_redraw(alert_factory, monkeypatch, idle_polls):
    renders = _renders(monkeypatch)
    out, _ = _console(width=80, terminal=True)
    items = [alert_factory(), alert_factory(), None] + [None] * idle_polls  # a batch of two, then idle polls

    show_alerts(iter(items), out, AlertFilter(), live=True, clock=lambda: 0.0)

    assert len(renders) == 4  # Live's first frame, the empty table, the batch, Live's last frame


def test_a_burst_is_drawn_at_most_every_quarter_second(alert_factory, monkeypatch):
    renders = _renders(monkeypatch)
    out, _ = _console(width=80, terminal=True)
    moments = iter(i * 0.01 for i in range(10_000))  # 100 alerts over one second, no batch end

    show_alerts(iter([alert_factory() for _ in range(100)]), out, AlertFilter(), live=True, clock=lambda: next(moments))

    assert 4 <= len(renders) <= 9  # about four a second, not a hundred
