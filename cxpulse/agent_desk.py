"""``cxpulse agent-desk``: a simulated agent desktop that prints each agent warning as it arrives.

It subscribes to ``cx.agent-warnings`` (``[topics] warnings``) the way a CTI or CRM
integration would: every partition, no consumer group, from the end (or the beginning).
A real desktop would pop the warning up for the agent named in it; this one prints one
line per warning, optionally only for one agent or queue.
"""

import logging
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import orjson
import typer

from cxpulse.console import console, settings_of
from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

__all__ = ["agent_desk", "follow_warnings", "warning_line"]

CONNECT_TIMEOUT_MS = 10_000


def warning_line(warning: dict[str, Any]) -> str:
    """``started_at  SEVERITY  customer  service  [agent]  summary`` for one warning (a dict from JSON)."""
    started = str(warning.get("started_at", ""))[:19].replace("T", " ")
    agent = warning.get("agent_id") or "-"
    return "  ".join([started, f"{str(warning.get('severity', '?')).upper():8}", str(warning.get("customer_id", "?")),
                      f"agent {agent}", str(warning.get("summary", ""))])


def follow_warnings(settings: Settings, *, from_beginning: bool = False, stop: Callable[[], bool] = lambda: False,
                    poll_seconds: float = 0.5, on_ready: Callable[[], None] = lambda: None) -> Iterator[dict[str, Any]]:
    """Yield agent warnings as they arrive. ``on_ready`` is called once the start positions are
    fixed: every warning written after that call is yielded. Records that are not JSON objects are skipped."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from cxpulse.clients import kafka_python_config

    topic = settings.topics.warnings
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # one line below instead of the client's retries
    try:
        consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None, enable_auto_commit=False,
                                 bootstrap_timeout_ms=CONNECT_TIMEOUT_MS)
    except (KafkaError, OSError) as exc:
        raise CxpulseError(f"cannot reach Kafka at {settings.kafka.bootstrap_servers}: {type(exc).__name__}") from None
    finally:
        quiet.setLevel(level)
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(_partitions(consumer, topic))]
        consumer.assign(assigned)
        (consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)(*assigned)
        for partition in assigned:
            consumer.position(partition)  # resolve the lazy seek now, before on_ready
        on_ready()
        while not stop():
            for records in consumer.poll(timeout_ms=int(poll_seconds * 1000)).values():
                for record in records:
                    warning = _decode(record.value)
                    if warning is not None:
                        yield warning
    finally:
        consumer.close()


def _partitions(consumer: Any, topic: str, timeout: float = 15.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        time.sleep(0.2)  # waiting for metadata, not for a test
    raise CxpulseError(f"topic {topic} not found (create it with 'cxpulse topics create')")


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        warning = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return warning if isinstance(warning, dict) else None


def agent_desk(
    ctx: typer.Context,
    agent: Annotated[str | None, typer.Option(help="Only warnings for this agent_id.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only warnings for this queue.")] = None,
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at the topic's beginning.")] = False,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many warnings.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each warning as one JSON line.")] = False,
) -> None:
    """A simulated agent desktop: print each agent warning (cx.agent-warnings) as it arrives."""
    settings = settings_of(ctx)
    shown = 0
    for warning in follow_warnings(settings, from_beginning=from_beginning):
        if (agent and warning.get("agent_id") != agent) or (queue and warning.get("queue") != queue):
            continue
        if as_json:
            typer.echo(orjson.dumps(warning).decode())
        else:
            console.print(warning_line(warning), markup=False, highlight=False, soft_wrap=True)
        shown += 1
        if count is not None and shown >= count:
            return
