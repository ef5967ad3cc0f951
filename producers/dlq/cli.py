"""``cxpulse dlq list / explain / resend``."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer

from cxpulse.console import console, err_console, settings_of
from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Dead letters of cx.events: list, explain by reason, re-send after a fix.", no_args_is_help=True)

Reason = Annotated[str | None, typer.Option("--reason", help="Only letters whose reason contains this text (any case).", show_default=False)]
Source = Annotated[str | None, typer.Option("--from-source", help="Only letters of this source mapping ('-': invalid events, which name none).", show_default=False)]
Since = Annotated[str | None, typer.Option("--since", help="Dead-lettered at or after: RFC 3339, a date (UTC) or a duration before now (7d).", show_default=False)]
Until = Annotated[str | None, typer.Option("--until", help="Dead-lettered before (same forms as --since).", show_default=False)]
Topic = Annotated[str | None, typer.Option("--topic", help="The dead-letter topic (default: topics.dlq).", show_default=False)]


def _letters(settings: Settings, topic: str | None, since: str | None, until: str | None,
             reason: str | None, source: str | None) -> Iterator:  # fmt: skip
    from cxpulse.processors.replay.timerange import parse_range

    from .letters import Selection
    from .read import read_letters

    window = parse_range(since, until, datetime.now(UTC))
    selection = Selection(reason=reason, source=source)
    name = topic or settings.topics.dlq
    _require_topic(settings, name)
    return (letter for letter in read_letters(settings, name, window) if selection.matches(letter))


def _require_topic(settings: Settings, name: str) -> None:
    from cxpulse.topics import admin_client

    with admin_client(settings.kafka) as admin:
        if name not in admin.list_topics():
            raise CxpulseError(f"topic {name} does not exist")


@dlq_app.command("list")
def list_letters(
    ctx: typer.Context, reason: Reason = None, from_source: Source = None, since: Since = None, until: Until = None,
    topic: Topic = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many (0: all).")] = 50,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per letter, with its raw record.")] = False,
) -> None:
    """The dead letters, oldest first: position in the topic, when, source, where from, and why.

    The raw records (which may hold customer data) are printed only with --json.
    """
    shown = 0
    for letter in _letters(settings_of(ctx), topic, since, until, reason, from_source):
        if limit and shown >= limit:
            err_console.print(f"(more letters match; --limit {limit} shown, --limit 0 shows all)", highlight=False)
            break
        shown += 1
        if json_lines:
            body = letter.letter.model_dump(mode="json", exclude_none=True) if letter.letter is not None else {}
            typer.echo(orjson.dumps({"dlq_partition": letter.partition, "dlq_offset": letter.offset,
                                     "dead_lettered_at": letter.written_at(), **body}).decode())  # fmt: skip
        else:
            console.print(f"{letter.position:<10} {letter.written_at():<26} {letter.source or '-':<16} "
                          f"{letter.origin():<36} {letter.reason}", markup=False, highlight=False)  # fmt: skip
    if not shown:
        err_console.print("no dead letters match", highlight=False)


@dlq_app.command("explain")
def explain_letters(
    ctx: typer.Context, reason: Reason = None, from_source: Source = None, since: Since = None, until: Until = None,
    topic: Topic = None,
) -> None:
    """The dead letters grouped by reason, largest group first: count, first and last time, an example position."""
    from .explain import explain

    groups = explain(_letters(settings_of(ctx), topic, since, until, reason, from_source))
    if not groups:
        err_console.print("no dead letters match", highlight=False)
        return
    total = sum(group.count for group in groups)
    console.print(f"{total:,} dead letter(s) in {len(groups)} group(s)", highlight=False)
    for group in groups:
        assert group.first is not None and group.last is not None
        sources = ", ".join(f"{name} {count:,}" for name, count in group.sources.most_common())
        console.print(f"\n{group.count:>8,}  {group.reason}", markup=False, highlight=False)
        console.print(f"          {group.first.written_at()} .. {group.last.written_at()}; example at "
                      f"{group.first.position} (from {group.first.origin()}); source: {sources}",
                      markup=False, highlight=False)  # fmt: skip


@dlq_app.command("resend")
def resend(
    ctx: typer.Context, reason: Reason = None, from_source: Source = None, since: Since = None, until: Until = None,
    topic: Topic = None,
    source: Annotated[str | None, typer.Option("--source", help="Map every chosen letter through this source mapping "
                                               "(default: the mapping the letter names, else none).", show_default=False)] = None,
    to_topic: Annotated[str | None, typer.Option("--to-topic", help="Where to send the events (default: topics.events).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Judge every letter and report; send nothing.")] = False,
) -> None:
    """Send the chosen dead letters again: each judged by today's rules (and mapping), the valid ones produced.

    Letters that still fail stay in the dead-letter topic (it is never changed) and are counted by reason.
    A letter whose raw value was truncated (larger than a letter holds) is refused, never sent cut short.
    Idempotent: the events keep their event ids, so re-sending again changes nothing downstream.
    Exits 1 when some letters still fail or were refused, or an event was not acknowledged.
    """
    from cxpulse.producers.produce_cmd import CheckOnlySink, connect_kafka

    from .resend import plan_resend, send_plan

    settings = settings_of(ctx)
    target = to_topic or settings.topics.events
    plan = plan_resend(_letters(settings, topic, since, until, reason, from_source), settings, source=source)
    sink = CheckOnlySink() if dry_run or not plan.records else connect_kafka(settings, target)
    report = send_plan(plan, sink)
    verb = "would send" if dry_run else "sent"
    console.print(f"{plan.letters:,} letter(s): {plan.resendable:,} valid now, {verb} {len(plan.records):,} event(s) "
                  f"to {target}" + (f" ({plan.duplicates:,} repeated, sent once)" if plan.duplicates else "")
                  + (f", {plan.ignored:,} ignored by their mapping" if plan.ignored else "")
                  + f", {sum(plan.still_failing.values()):,} still failing"
                  + (f", {len(plan.refused):,} refused (truncated)" if plan.refused else ""),
                  markup=False, highlight=False)  # fmt: skip
    if not dry_run and plan.records:
        console.print(f"acknowledged by Kafka: {report.delivered:,} of {len(plan.records):,}", highlight=False)
    for why, count in plan.still_failing.most_common(10):
        err_console.print(f"  still failing {count:,} x {why}", markup=False, highlight=False)
    for line in plan.refused[:10]:
        err_console.print(f"  refused {line}", markup=False, highlight=False)
    if len(plan.refused) > 10:
        err_console.print(f"  ... and {len(plan.refused) - 10:,} more refused", highlight=False)
    problems = []
    if plan.refused:
        problems.append(f"{len(plan.refused):,} letter(s) refused: their raw value was truncated")
    if plan.still_failing:
        problems.append(f"{sum(plan.still_failing.values()):,} letter(s) still fail")
    if report.failed:
        problems.append(f"{report.failed:,} event(s) not delivered ({report.describe_errors()})")
    if problems:
        raise CxpulseError("; ".join(problems))
