"""``cxpulse bridge`` and ``cxpulse sources list / map``: source mappings from the command line."""

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import console, err_console, settings_of
from cxpulse.errors import CxpulseError

__all__ = ["bridge", "register", "sources_app"]

sources_app = typer.Typer(help="Source mappings: other systems' JSON into events (docs/sources.md).", no_args_is_help=True)

_BRIDGE_HELP = (
    "Map a raw topic of another system's records into cx.events, continuously.\n\n"
    "A consumer group (default <sources.bridge_group_prefix>.<source>.<raw topic>) reads --from-topic; each batch's "
    "records are mapped with --source, their events produced to cx.events (key = customer_id, acks=all) and the "
    "records that cannot be mapped to cx.events.dlq with the reason. Offsets are committed only after all of that "
    "was acknowledged (at least once: a restarted bridge maps the last batch again, and its events de-duplicate "
    "downstream by event_id). SIGINT or SIGTERM end it after the current batch; --until-end ends it once it has "
    "caught up with the raw topic."
)


def bridge(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--source", help="The source mapping: a preset, a file in sources.dir, or a path.", show_default=False)],
    from_topic: Annotated[str, typer.Option("--from-topic", help="The raw topic to read.", show_default=False)],
    group: Annotated[str | None, typer.Option("--group", help="Consumer group (default: see above).", show_default=False)] = None,
    to_topic: Annotated[str | None, typer.Option("--to-topic", help="Topic for the events (default: topics.events).", show_default=False)] = None,
    until_end: Annotated[bool, typer.Option("--until-end", help="Stop once caught up with the raw topic.")] = False,
) -> None:
    from cxpulse.processors.replay.interrupt import stop_on_signals

    from .bridge import Bridge
    from .registry import load_source

    settings = settings_of(ctx)
    mapper = load_source(source, settings)
    runner = Bridge(settings, mapper, from_topic, group=group, to_topic=to_topic, until_end=until_end)
    err_console.print(f"bridge {from_topic} -> {runner.to_topic} through source {mapper.name} (group {runner.group})",
                      highlight=False, markup=False)  # fmt: skip
    with stop_on_signals(runner, "stopping after the current batch"):
        run = runner.run()
    console.print(f"read {run.records:,} records: {run.events:,} events produced, {run.ignored:,} ignored, "
                  f"{run.dead_letters:,} dead-lettered ({settings.topics.dlq})", markup=False)  # fmt: skip
    for reason, count in run.reasons.most_common(5):
        err_console.print(f"  {count:,} x {reason}", markup=False, highlight=False)


bridge.__doc__ = _BRIDGE_HELP


@sources_app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """The presets shipped with cxpulse and the mapping files in sources.dir."""
    from .registry import load_mapping, preset_names

    settings = settings_of(ctx)
    folder = settings.sources.dir
    names = sorted({*preset_names(), *(path.stem for path in (folder.glob("*.toml") if folder and folder.is_dir() else ()))})
    for name in names:
        mapping, origin = load_mapping(name, folder)
        console.print(f"{name:<20} {origin:<32} {mapping.description}", markup=False, highlight=False)


@sources_app.command("map")
def map_file(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A preset, a file in sources.dir, or a path to a mapping file.")],
    file: Annotated[Path, typer.Argument(help="JSONL (one record per line) or a JSON array of records; '-' for stdin.")],
) -> None:
    """Print the events each record maps to (JSONL on stdout), and why a record does not map (stderr).

    Nothing is sent anywhere: this is for writing and checking a mapping. Exits 1 when a record does not map.
    """
    from .judge import Events, Skipped, judge_record
    from .registry import load_source

    settings = settings_of(ctx)
    mapper = load_source(source, settings)
    failed = 0
    for number, record in enumerate(_records(file), start=1):
        outcome = judge_record(mapper, record, time.time(), settings.validation.max_future_seconds)
        if isinstance(outcome, Events):
            for event in outcome.accepted:
                sys.stdout.buffer.write(event.value + b"\n")
        elif isinstance(outcome, Skipped):
            err_console.print(f"record {number}: ignored by the mapping", markup=False, highlight=False)
        else:
            failed += 1
            err_console.print(f"record {number}: {outcome.reason}", markup=False, highlight=False)
    sys.stdout.flush()
    if failed:
        raise CxpulseError(f"{failed} record(s) do not map")


def _records(file: Path) -> list:
    import orjson

    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise CxpulseError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(data)
        return document if isinstance(document, list) else [document]
    except orjson.JSONDecodeError:
        pass
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise CxpulseError(f"{file} line {number}: not valid JSON (give JSONL or one JSON array)") from None
    return records


def register(app: typer.Typer) -> None:
    """Add ``bridge`` and the ``sources`` group to the root command."""
    app.command("bridge", help=_BRIDGE_HELP)(bridge)
    app.add_typer(sources_app, name="sources")
