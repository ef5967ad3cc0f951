"""``cxpulse simulate`` and ``cxpulse produce``: put customer-contact events into ``cx.events``."""

from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import settings_of

from .errors import ProducerError

__all__ = ["produce", "register", "simulate"]

_SIMULATE_HELP = "\n\n".join(
    (
        'Simulate a population of customers and produce their contacts to cx.events.',
        'The simulated period is --days long and ends at --anchor (default: now); events are emitted in '
        'event-time order, key = customer_id. Most customers are content; a share (--struggling) repeat-call,'
        ' complain, give bad feedback or have tickets that breach their due time, and one outage burst hits '
        'one service type. The same --seed and --anchor give the same events, byte for byte.',
        'How much and how fast: --customers and --days (with --contact-rate) decide how many events the '
        'period holds; --count and --duration stop earlier (whichever comes first); --rate paces the emission'
        ' in events per second of wall time (0: as fast as possible). Event times do not follow the wall '
        "clock: --rate only spreads the period's events out.",
        '--dry-run writes JSONL to stdout (or --out FILE) instead of producing. --ground-truth FILE records '
        'which customers struggle and how (JSON; docs/producers.md).',
        '--churn makes customers leave by a hidden model of their experiences (waits, repeats, unresolved '
        'issues, complaints, broken promises, bad ratings; never the engine\'s weights or score), with noise '
        'and reasons no event shows: a churned customer sends nothing more after its account event (its open tickets are still resolved). '
        '--outcomes FILE (.csv or .jsonl) also writes who left and when, for cxpulse backtest; '
        '--no-account-events keeps the account events out of the stream (the file only); --churn-scale '
        'speeds the model up for short periods (the demo uses 10). Settings: [producer.churn].',
    )
)

_PRODUCE_HELP = "\n\n".join(
    (
        'Validate events from a JSONL or CSV file and produce the valid ones to cx.events.',
        "FILE is a path or '-' for stdin; '.gz' files are read compressed. The format comes from the "
        'extension (.jsonl/.ndjson/.json or .csv) or --format. Every record is checked with the event '
        "contract first: a bad one is reported as 'line N: reason' and never produced. --on-error continue "
        '(default) goes on with the next line; --on-error stop ends the import at the first bad line (nothing'
        ' after it is produced). Exits non-zero when any line was rejected or any event was not acknowledged '
        'by Kafka.',
        'CSV: the first row names the columns, which are event field names (event_id, event_type, '
        'customer_id, occurred_at, channel, service_type, segment, direction, wait_seconds, ...). An empty '
        "cell leaves the field out; a cell that is exactly 'null' is JSON null; wait_seconds, talk_seconds "
        'and sentiment are numbers, score and schema_version integers, is_complaint true/false (or 1/0); all '
        'other fields are text as written.',
        "--source NAME: each line is a record of another system (a preset such as amazon-connect, zendesk, "
        "salesforce-case, or a mapping file in sources.dir, or a path to one), mapped to events first "
        '(docs/sources.md); records the mapping ignores are counted as skipped.',
    )
)


class OnError(str, Enum):
    cont = "continue"
    stop = "stop"


class Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


def simulate(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the population.")] = 1000,
    days: Annotated[float, typer.Option(min=0.25, help="Length of the simulated period in days.")] = 3.0,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: same seed and anchor, same events.")] = 1,
    anchor: Annotated[str, typer.Option(help="End of the simulated period: RFC 3339 with offset, or 'now'.")] = "now",
    rate: Annotated[float, typer.Option(min=0, help="Events per second of wall time; 0 = as fast as possible.")] = 0.0,
    count: Annotated[int | None, typer.Option(min=0, help="Stop after this many events.", show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="Stop after this many seconds of wall time.", show_default=False)] = None,
    contact_rate: Annotated[float, typer.Option(min=0, help="Ordinary contact episodes per customer per day.")] = 0.5,
    struggling: Annotated[float, typer.Option(min=0, max=1, help="Share of customers that struggle.")] = 0.08,
    outage_customers: Annotated[int | None, typer.Option(min=0, help="Customers in the outage burst (default: above the incident threshold; 0: no outage).", show_default=False)] = None,
    ground_truth: Annotated[Path | None, typer.Option("--ground-truth", help="Write the ground truth (JSON) to this file.", show_default=False)] = None,
    churn: Annotated[bool, typer.Option("--churn", help="Customers leave by the hidden churn model (account events).")] = False,
    churn_scale: Annotated[float, typer.Option(min=0.001, help="With --churn: the model's rates times this.")] = 1.0,
    outcomes: Annotated[Path | None, typer.Option("--outcomes", help="Write who left and when to this file (.csv or .jsonl); implies --churn.", show_default=False)] = None,
    account_events: Annotated[bool, typer.Option("--account-events/--no-account-events", help="With --churn: put the account events into the stream.")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write JSONL instead of producing to Kafka.")] = False,
    out: Annotated[Path | None, typer.Option(help="With --dry-run: the JSONL file (default: stdout).", show_default=False)] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to produce to (default: topics.events).", show_default=False)] = None,
) -> None:
    from .simulate_cmd import SimulateRequest, run_simulate

    if out is not None and not dry_run:
        raise ProducerError("--out only applies with --dry-run")
    request = SimulateRequest(
        customers=customers, days=days, seed=seed, anchor=_anchor(anchor), rate=rate, count=count,
        duration=duration, contact_rate=contact_rate, struggling=struggling, outage_customers=outage_customers,
        ground_truth=ground_truth, dry_run=dry_run, out=out, topic=topic,
        churn=churn or outcomes is not None, churn_scale=churn_scale, outcomes=outcomes, account_events=account_events,
    )  # fmt: skip
    run_simulate(settings_of(ctx), request)


simulate.__doc__ = _SIMULATE_HELP


def produce(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSONL or CSV file, '-' for stdin.", metavar="FILE")],
    format: Annotated[Format | None, typer.Option("--format", help="Input format (default: from the extension).", show_default=False)] = None,
    on_error: Annotated[OnError, typer.Option("--on-error", help="On a bad line: continue with the next, or stop.")] = OnError.cont,
    check: Annotated[bool, typer.Option("--check", help="Only validate; produce nothing.")] = False,
    topic: Annotated[str | None, typer.Option(help="Topic to produce to (default: topics.events).", show_default=False)] = None,
    source: Annotated[str | None, typer.Option("--source", help="Map each line from this source system first (docs/sources.md).", show_default=False)] = None,
) -> None:
    from .produce_cmd import ProduceRequest, run_produce

    request = ProduceRequest(file=file, format=format.value if format else None, on_error=on_error.value, check=check,
                             topic=topic, source=source)  # fmt: skip
    run_produce(settings_of(ctx), request)


produce.__doc__ = _PRODUCE_HELP


def _anchor(text: str) -> datetime:
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ProducerError(f"--anchor {text!r} is not an RFC 3339 time (e.g. 2025-03-14T18:00:00Z) or 'now'") from None
    if moment.tzinfo is None:
        raise ProducerError(f"--anchor {text!r} needs a UTC offset (e.g. Z or +08:00)")
    return moment


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``produce`` to the root command."""
    app.command("simulate", help=_SIMULATE_HELP)(simulate)
    app.command("produce", help=_PRODUCE_HELP)(produce)
