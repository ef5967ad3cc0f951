"""The live worker's verdict on one replayed record: the worker's own rule, applied to a source record.

The rule itself is :func:`cxpulse.processors.validation.validate_record` (record time as
the moment it was read, key check), shared with the worker; this only adapts a
:class:`SourceRecord` and raises. Events of plain event files have neither a record time
nor a key: they are checked against the wall clock, as ``cxpulse produce`` does.
"""

from typing import Any

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.validation import KEY_MISMATCH, validate_record
from cxpulse.schemas import Event, InvalidEvent

__all__ = ["KEY_MISMATCH", "read_event"]


def read_event(record: SourceRecord, max_future_seconds: float, *, fast: bool = False) -> Event | Any:
    """The event in ``record``; raises :class:`InvalidEvent` with the worker's reason.
    ``fast``: the hot-path decoder's struct (``validate_record(..., fast=True)``), the same verdicts."""
    if record.problem is not None:
        raise InvalidEvent(record.problem)
    read_at = None if record.timestamp is None else record.timestamp / 1000.0
    # validate_record hands the value to parse_event, which takes str too (archive lines); its annotation says bytes only
    event = validate_record(record.key, record.value, read_at, max_future_seconds, fast=fast)  # type: ignore[arg-type]
    if isinstance(event, str):
        raise InvalidEvent(event)
    return event
