"""``cxpulse topics``: create and list the topics of the pipeline."""

from typing import Annotated

import typer

from cxpulse.console import console, err_console, settings_of

__all__ = ["topics_app"]

topics_app = typer.Typer(help="Create or list the Kafka topics cxpulse uses.", no_args_is_help=True)

Timeout = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the broker to answer.")]


@topics_app.command("create")
def create(
    ctx: typer.Context,
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Partitions per topic (default: the topics.partitions setting).")
    ] = None,
    timeout: Timeout = 15.0,
) -> None:
    """Create cx.events, cx.alerts, cx.scores (compacted) and cx.events.dlq; existing topics are kept."""
    from cxpulse.topics import ensure_topics, topic_specs

    settings = settings_of(ctx)
    topics = settings.topics if partitions is None else settings.topics.model_copy(update={"partitions": partitions})
    for outcome in ensure_topics(settings.kafka, topic_specs(topics), connect_timeout=timeout):
        verb = "created" if outcome.created else "exists "
        console.print(f"{verb} {outcome.name} ({outcome.partitions} partitions)")
        if outcome.warning:
            err_console.print(f"warning: {outcome.warning}")


@topics_app.command("list")
def list_(
    ctx: typer.Context,
    internal: Annotated[bool, typer.Option("--internal", help="Include internal topics (__consumer_offsets, ...).")] = False,
    timeout: Timeout = 15.0,
) -> None:
    """List the broker's topics with their partition count and cleanup policy."""
    from cxpulse.topics import list_topics

    infos = list_topics(settings_of(ctx).kafka, internal=internal, connect_timeout=timeout)
    if not infos:
        console.print("no topics")
    width = max((len(info.name) for info in infos), default=0)
    for info in infos:
        console.print(f"{info.name:<{width}}  {info.partitions:>3} partitions  cleanup.policy={info.cleanup_policy}")
