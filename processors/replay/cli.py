"""``cxpulse replay`` and ``cxpulse customer``: the engineer's tools (see docs/replay.md)."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import settings_of

from .errors import ReplayError
from .timerange import parse_duration, parse_range

__all__ = ["customer", "register", "replay"]

_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_REPLAY_HELP = """\
Run a range of events through the engine offline; report alerts and final scores.

Source: cx.events (default) between --since and --until, record times as Kafka keeps
them (offsets looked up by timestamp in every partition), or --from PATH: an archive
directory or file written by 'cxpulse archive', or a JSONL/CSV event file. Times are RFC
3339 (2025-03-04T09:00:00Z), a UTC date (2025-03-04) or a duration before now (7d, 36h).

Replaying the records the live worker read gives the same verdicts, the same alert ids,
the same alerts and the same final scores. --warmup 30d replays that much history
before --since to rebuild state without reporting its alerts.

--settings FILE tries other thresholds or weights (the \\[engine] table of a TOML file);
--diff compares with the alerts the live pipeline wrote to cx.alerts for the range;
--out DIR writes alerts.jsonl, scores.jsonl, invalid.jsonl, diff.jsonl, summary.json;
--customer ID replays one customer (only its partition is read);
--workers N replays an archive directory's partitions in N processes: the same alerts, in
the same order, and the same scores as one process, in less time on a machine with cores;
--to-topic NAME copies the range into another topic instead (keys, values, headers and
timestamps kept), for a staging pipeline. Ctrl-C stops cleanly with a partial report.
"""

_CUSTOMER_HELP = """\
One customer's timeline: each event, the score and band after it, the rules it set off.

The customer's whole history is replayed from cx.events (its partition only) or from
--archive (a directory or file written by 'cxpulse archive'); --since/--until narrow the
rows shown (event time). Example: why was C-1234 flagged on Tuesday?

    cxpulse customer C-1234 --since 2025-03-04 --until 2025-03-05

--json prints the same as JSON (rows with the full event, alerts, final state).
"""

Since = Annotated[str | None, typer.Option("--since", help="Start: RFC 3339, a UTC date, or e.g. 7d before now.", show_default=False)]
Until = Annotated[str | None, typer.Option("--until", help="End (exclusive); default: the end of the topic.", show_default=False)]


def _customer_id(value: str | None) -> str | None:
    if value is not None and not _CUSTOMER_ID.match(value):
        raise ReplayError(f"--customer {value!r} is not a customer id (1-64 of A-Z a-z 0-9 . _ : -)")
    return value


def replay(
    ctx: typer.Context,
    source: Annotated[Path | None, typer.Option("--from", help="Archive directory or file, or a JSONL/CSV event file (default: Kafka).", show_default=False)] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to read (default: topics.events).", show_default=False)] = None,
    since: Since = None,
    until: Until = None,
    warmup: Annotated[str | None, typer.Option(help="Replay this much before --since for state only, e.g. 30d.", show_default=False)] = None,
    customer_id: Annotated[str | None, typer.Option("--customer", help="Only this customer.", show_default=False)] = None,
    settings_file: Annotated[Path | None, typer.Option("--settings", help="TOML file whose \\[engine] table changes settings.", show_default=False)] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Compare with the alerts on cx.alerts for the range.")] = False,
    grace: Annotated[str, typer.Option(help="With --diff: live alerts written this long after --until still count.")] = "60s",
    pair_within: Annotated[str, typer.Option(help="With --diff: pair differing alerts of one rule and customer this close in time.")] = "3d",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write JSONL results and summary.json here.", show_default=False)] = None,
    to_topic: Annotated[str | None, typer.Option("--to-topic", help="Republish the range into this topic instead.", show_default=False)] = None,
    top: Annotated[int, typer.Option(min=0, help="Most alerted customers to list.")] = 10,
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, max=64, help="Processes for an archive directory's partitions (the same result as one).")] = 1,
) -> None:
    from .replay_cmd import ReplayRequest, run_replay, run_republish

    now = datetime.now(UTC)
    request = ReplayRequest(
        source=source, topic=topic, range=parse_range(since, until, now),
        warmup=None if warmup is None else _warmup(warmup, since), customer=_customer_id(customer_id),
        settings_file=settings_file, diff=diff, grace=parse_duration(grace), pair_within=parse_duration(pair_within),
        out=out, top=top, workers=workers,
    )
    settings = settings_of(ctx)
    if to_topic is not None:
        if diff or settings_file or out or warmup or workers > 1:
            raise ReplayError("--to-topic only copies records: it takes no --diff, --settings, --out, --warmup "
                              "or --workers")
        run_republish(settings, request, to_topic)
        return
    run_replay(settings, request)


def _warmup(text: str, since: str | None) -> timedelta:
    if since is None:
        raise ReplayError("--warmup needs --since (it replays that much before it)")
    return parse_duration(text)


def customer(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="The customer id.", show_default=False)],
    archive: Annotated[Path | None, typer.Option("--archive", help="Archive directory or file (default: Kafka).", show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="Show rows from this event time: RFC 3339, a UTC date, or e.g. 7d.", show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", help="Show rows before this event time.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    from .customer_cmd import run_customer

    _customer_id(customer_id)
    window = parse_range(since, until, datetime.now(UTC))
    run_customer(settings_of(ctx), customer_id, archive, window, as_json)


def register(app: typer.Typer) -> None:
    """Add ``replay``, ``customer`` and ``archive`` to the root command."""
    from cxpulse.processors.archive.cli import ARCHIVE_HELP, archive

    app.command("replay", help=_REPLAY_HELP)(replay)
    app.command("customer", help=_CUSTOMER_HELP)(customer)
    app.command("archive", help=ARCHIVE_HELP)(archive)
