"""What the worker writes, as bytes: alerts, score snapshots, contacts and dead letters."""

from datetime import datetime, timezone
from typing import Any, Protocol

import orjson

from cxpulse.processors.engine import Contact, CustomerState, Engine
from cxpulse.schemas import Alert, dead_letter, dead_letter_json

__all__ = ["Sink", "alert_record", "compact", "contact_from_bytes", "contact_record", "dead_letter_record", "mark_from_bytes",
           "mark_record", "now_rfc3339", "snapshot_record", "warning_record"]  # fmt: skip


class Sink(Protocol):
    """Where a batch's records go (a :class:`~cxpulse.processors.worker.faustapp.writer.BatchWriter`)."""

    def add(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> None: ...


def compact(data: bytes) -> bytes:
    """An exact-size copy of ``data``, for bytes kept in memory for long.

    ``orjson.dumps`` returns its result in a 4 KiB allocation however short the JSON
    is; a table of 100,000 such states held 400 MB instead of 35 MB.
    """
    return memoryview(data).tobytes()


def now_rfc3339() -> str:
    """The wall-clock moment, for ``emitted_at``."""
    return datetime.now(timezone.utc).isoformat()


def alert_record(alert: Alert, emitted_at: str) -> tuple[bytes, bytes]:
    """``(key, value)`` of an alert on ``cx.alerts``: keyed by customer, or service type for incidents."""
    data = alert.model_dump(mode="json")
    data["emitted_at"] = emitted_at
    key = alert.customer_id if alert.customer_id is not None else alert.service_type
    return key.encode("utf-8"), orjson.dumps(data)


def warning_record(warning: dict[str, Any], emitted_at: str) -> bytes:
    """The value of an agent warning (``Engine.warning_data``) on ``cx.agent-warnings`` (key: the customer id)."""
    warning["emitted_at"] = emitted_at
    return orjson.dumps(warning)


def snapshot_record(engine: Engine, state: CustomerState) -> bytes:
    """The customer's row on the compacted ``cx.scores`` topic."""
    return engine.snapshot(state).model_dump_json().encode("utf-8")


def contact_record(contact: Contact) -> tuple[bytes, bytes]:
    """``(key, value)`` of an inbound contact on the repartition topic, keyed by service type."""
    return contact.service_type.encode("utf-8"), orjson.dumps(tuple(contact))


def contact_from_bytes(value: bytes) -> Contact:
    """The inverse of :func:`contact_record`'s value."""
    service_type, customer_id, occurred_at, event_id = orjson.loads(value)
    return Contact(service_type, customer_id, float(occurred_at), event_id)


def mark_record(clocks: dict[int, float], partitions: int | None, overall: float | None = None) -> bytes:
    """A *mark* on the contacts topic: the sending worker's partition clocks (``null`` = idle)
    after the contacts it wrote before it, the partition count of ``cx.events`` and the
    worker's overall clock (the watermark when every partition is idle; never infinite)."""
    rows = [[p, None if c == float("inf") else c] for p, c in sorted(clocks.items())]
    mark: dict = {"clocks": rows, "partitions": partitions}
    if overall is not None and abs(overall) < float("inf"):
        mark["overall"] = overall
    return orjson.dumps(mark)


def mark_from_bytes(value: bytes) -> tuple[dict[int, float], int | None, float | None] | None:
    """``(clocks, partition count, overall clock)`` of a mark (idle partitions at ``inf``;
    ``None`` for an overall clock the mark does not carry); ``None`` for a contact."""
    if value[:1] != b"{":
        return None
    mark = orjson.loads(value)
    overall = mark.get("overall")
    return ({int(p): float("inf") if c is None else float(c) for p, c in mark["clocks"]}, mark.get("partitions"),
            None if overall is None else float(overall))


def dead_letter_record(reason: str, message: Any) -> bytes:
    """A ``cx.events.dlq`` value for the faust ``message`` (raw key and value) that failed."""
    letter = dead_letter(
        reason,
        message.value if message.value is not None else b"",
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
    )
    return dead_letter_json(letter)
