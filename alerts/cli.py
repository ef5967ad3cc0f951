"""``cxpulse alerts ...``: watch the alerts the worker raises, and deliver them to people."""

from typing import Annotated

import typer

from cxpulse.console import console, err_console, settings_of

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Watch and route alerts.", no_args_is_help=True)

@alerts_app.command("tail")
def tail(
    ctx: typer.Context,
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at the oldest alert, not the newest.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Stop after this many alerts (after filtering).", show_default=False)] = None,
    severity: Annotated[list[str], typer.Option("--severity", help="Only these severities: info, warning, critical (repeat or comma-separate).", show_default=False)] = [],  # noqa: B006
    segment: Annotated[list[str], typer.Option("--segment", help="Only these segments: standard, key, vip, vulnerable.", show_default=False)] = [],  # noqa: B006
    service_type: Annotated[list[str], typer.Option("--service-type", help="Only these service types.", show_default=False)] = [],  # noqa: B006
    rule: Annotated[list[str], typer.Option("--rule", help="Only these rules (repeat_contact, sla_breach, incident, ...).", show_default=False)] = [],  # noqa: B006
    live: Annotated[bool | None, typer.Option("--live/--lines", help="A live table (default on a terminal) or one line per alert (default otherwise).", show_default=False)] = None,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Alerts the live table shows.")] = 25,
    since: Annotated[str | None, typer.Option("--since", help="Start at the alerts written since then: RFC 3339 (2025-03-04T09:00:00Z), a date (UTC) or a duration before now (30m, 4h, 2d).", show_default=False)] = None,
    exit_at_end: Annotated[bool, typer.Option("--exit-at-end", help="Stop after the last alert written before the start instead of waiting for more.")] = False,
) -> None:
    """Show alerts as they arrive: time, severity, rule, customer, service type, segment, score/band, summary.

    On a terminal: a live table of the newest alerts, severity in colour; columns give
    way on a narrow terminal, the customer id never does. Piped or redirected: one line
    per alert. Filters combine (an alert must pass each one). With --since or
    --from-beginning and --exit-at-end it prints what was there and ends: a report.
    """
    from .console import follow_alerts
    from .live import AlertFilter
    from .tail_cmd import show_alerts

    wanted = AlertFilter.of(severity, segment, service_type, rule)
    if since is not None and from_beginning:
        raise typer.BadParameter("give --since or --from-beginning, not both", param_hint="--since")
    start = None if since is None else _moment(since)
    settings = settings_of(ctx)
    shown = 0

    def count(n: int) -> None:
        nonlocal shown
        shown = n

    alerts = follow_alerts(settings, from_beginning=from_beginning, since=start, exit_at_end=exit_at_end,
                           stop=lambda: limit is not None and shown >= limit, ticks=True)
    show_alerts(alerts, console, wanted, live=console.is_terminal if live is None else live, limit=limit, rows=rows,
                on_shown=count)


def _moment(text: str) -> float:
    from datetime import UTC, datetime

    from cxpulse.processors.replay.timerange import parse_moment

    return parse_moment(text, datetime.now(UTC), "--since").timestamp()


@alerts_app.command("route")
def route(
    ctx: typer.Context,
    alertmanager: Annotated[str | None, typer.Option("--alertmanager", help="Alertmanager's URL (default: \\[alerts] alertmanager_url).", show_default=False)] = None,
    from_latest: Annotated[bool, typer.Option("--from-latest", help="A new consumer group starts at the newest alert, not the oldest.")] = False,
) -> None:
    """Deliver every alert from the alerts topic to Prometheus Alertmanager (POST /api/v2/alerts).

    Offsets are committed only after Alertmanager accepted a batch; while it is down the
    router retries with backoff. Alerts expire after \\[alerts] resolve_timeout_seconds
    unless the engine resolves them first. Serves its own /metrics (\\[alerts] metrics_port).
    Runs until SIGTERM or Ctrl-C.
    """
    from .route_cmd import run_router

    settings = settings_of(ctx)
    if alertmanager is not None:
        try:
            changed = settings.alerts.model_validate({**settings.alerts.model_dump(), "alertmanager_url": alertmanager})
        except ValueError as exc:
            raise typer.BadParameter(str(exc).splitlines()[-1], param_hint="--alertmanager") from None
        settings = settings.model_copy(update={"alerts": changed})
    totals = run_router(settings, from_beginning=not from_latest, say=lambda m: err_console.print(m, markup=False))
    err_console.print(f"stopped: {totals.delivered} alert(s) delivered, {totals.invalid} invalid, "
                      f"{totals.rejected} rejected, {totals.retries} retries", markup=False)


@alerts_app.command("sink")
def sink(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 9099,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Receive Alertmanager's webhook notifications and print one line each (a stand-in receiver).

    deploy/alertmanager/alertmanager.yml sends to http://127.0.0.1:9099/<receiver> until
    real receivers (e-mail, Slack, a pager) are configured; see docs/operations.md.
    """
    from .sink import WebhookSink, notification_line

    server = WebhookSink(host, port, on_notification=lambda n: console.print(notification_line(n), markup=False))
    err_console.print(f"receiving Alertmanager webhooks on {server.url}", markup=False)
    try:
        server.serve_forever()
    finally:
        server.stop()
