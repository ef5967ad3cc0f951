"""Drawing a :class:`~.timeline.Timeline`: a Rich table and an alerts list, or JSON."""

from datetime import UTC, datetime
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from cxpulse.schemas import Alert, Event
from cxpulse.processors.engine.alerting import score_text

from .timeline import Timeline, TimelineRow

__all__ = ["describe_event", "print_timeline", "timeline_json", "when"]

BAND_STYLE = {"healthy": "green", "at_risk": "yellow", "critical": "red"}
SEVERITY_STYLE = {"warning": "yellow", "critical": "bold red", "info": ""}


def when(moment: datetime) -> str:
    """``2025-03-04 18:13:31``: UTC, to the second, as every table shows times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


_when = when


def describe_event(event: Event) -> tuple[str, str]:
    """``(what, details)``: e.g. ``("call inbound", "unresolved, wait 412s, talk 95s, complaint")``."""
    # Compared on the event itself (not a copy of event_type): mypy narrows the union by it.
    if event.event_type == "contact_started":
        parts = [f"contact {event.contact_id}"] + [part for part in (event.queue, event.agent_id) if part]
        return "contact started", ", ".join(parts)
    if event.event_type == "call":
        parts = [event.outcome, f"wait {event.wait_seconds:g}s", f"talk {event.talk_seconds:g}s"]
        if event.sentiment is not None:
            parts.append(f"sentiment {event.sentiment:+.2f}")
        if event.contact_id is not None:
            parts.append(f"contact {event.contact_id}")
        what = f"call {event.direction}"
    elif event.event_type == "account":
        return f"account {event.action}", event.reason or ""
    elif event.event_type == "ticket":
        parts = [event.ticket_id]
        if event.priority:
            parts.append(event.priority)
        if event.due_at is not None:
            parts.append(f"due {_when(event.due_at)[:16]}")
        what = f"ticket {event.action}"
    else:
        parts = [f"score {event.score}" if event.score is not None else "no score"]
        if event.related_ticket_id:
            parts.append(f"on {event.related_ticket_id}")
        if event.comment:
            parts.append("with comment")
        what = f"feedback {event.survey}"
    if event.is_complaint:
        parts.append("complaint")
    return what, ", ".join(parts)


def _alert_cell(alerts: list[Alert]) -> str:
    return "\n".join(f"[{SEVERITY_STYLE.get(a.severity, '')}]{a.rule}[/] {a.severity}"
                     + (" (resolved)" if a.status == "resolved" else "") for a in alerts)


def _cells(row: TimelineRow) -> list[str]:
    score = "" if row.score is None else score_text(row.score)
    band = f"[{BAND_STYLE.get(row.band or '', '')}]{row.band}[/]" if row.band else ""
    if row.kind == "invalid":
        return [_when(row.at), "[red]invalid record[/]", "", "", row.reason or "", "", "", "", ""]
    if row.kind == "clock":
        return [_when(row.at), "stream clock", "", row.alerts[0].service_type,
                "open ticket passed its due time", "sla_breach", score, band, _alert_cell(row.alerts)]
    event = row.event
    assert event is not None
    what, details = describe_event(event)
    if row.kind == "duplicate":
        details, signals = f"duplicate of an earlier event_id ({event.event_id}): ignored", ""
    else:
        signals = ", ".join(row.signals)
    return [_when(row.at), what, event.channel, event.service_type, details, signals, score, band,
            _alert_cell(row.alerts)]


def print_timeline(console: Console, timeline: Timeline, rows: list[TimelineRow], title: str) -> None:
    """The table of ``rows``, then the alerts among them with their summaries, then the final state."""
    table = Table(title=title, title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("time (UTC)", "left"), ("event", "left"), ("channel", "left"), ("service", "left"), ("details", "left"),
        ("signals", "left"), ("score", "right"), ("band", "left"), ("alerts", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(*_cells(row))
    console.print(table)
    alerts = [a for row in rows for a in row.alerts]
    if alerts:
        listing = Table(title=f"Alerts ({len(alerts)})", title_justify="left")
        for column in ("triggered at (UTC)", "rule", "severity", "status", "alert id", "summary"):
            listing.add_column(column)
        for alert in alerts:
            listing.add_row(_when(alert.triggered_at), alert.rule,
                            f"[{SEVERITY_STYLE.get(alert.severity, '')}]{alert.severity}[/]", alert.status,
                            alert.alert_id, alert.summary)
        console.print(listing)
    else:
        console.print("No alerts in this window.")
    _final(console, timeline)


def _final(console: Console, timeline: Timeline) -> None:
    final = timeline.final
    if final is None:
        return
    console.print(f"After all {final.events_seen} events: score {score_text(final.score)} "
                  f"([{BAND_STYLE[final.risk_band]}]{final.risk_band}[/]), "
                  f"{'sensitive' if final.sensitive else 'not sensitive'}, {final.open_tickets} open ticket(s)"
                  + "".join(f"; {tid} due {_when(datetime.fromtimestamp(due, UTC))}" for tid, due in
                            timeline.open_tickets if due is not None))


def _row_json(row: TimelineRow) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": row.kind, "at": row.at.isoformat()}
    if row.record is not None and row.record.partition is not None:
        data.update(partition=row.record.partition, offset=row.record.offset)
    if row.event is not None:
        data["event"] = row.event.model_dump(mode="json", exclude_none=True)
    if row.kind in ("event", "clock"):
        data.update(signals=list(row.signals), score=row.score, risk_band=row.band, band_before=row.band_before)
    if row.reason is not None:
        data["reason"] = row.reason
    data["alerts"] = [a.model_dump(mode="json") for a in row.alerts]
    return data


def timeline_json(timeline: Timeline, rows: list[TimelineRow], source: str,
                  since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """The same content as :func:`print_timeline`, for ``--json``."""
    return {
        "customer_id": timeline.customer_id,
        "source": source,
        "window": {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None},
        "partial": timeline.partial,
        "rows": [_row_json(r) for r in rows],
        "alerts": [a.model_dump(mode="json") for r in rows for a in r.alerts],
        "final": None if timeline.final is None else timeline.final.model_dump(mode="json"),
    }
