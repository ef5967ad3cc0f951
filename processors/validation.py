"""When a record of ``cx.events`` is a valid event: the one rule, for the worker and the replay.

The worker (``scoring.py``) and ``cxpulse replay``/``cxpulse customer`` (``replay/verdict.py``)
both call :func:`validate_record`, so a replay of the same records gives the same verdicts
and the same dead-letter reasons. ``fast=True`` (the hot paths: the worker's batch, the
replay's loop) gives the very same verdicts and reasons with the event as the hot-path
decoder's struct (:func:`~cxpulse.schemas.decode_event`: the model's fields and values, what
the engine reads) instead of the pydantic model.
"""

import time
from typing import Any

from cxpulse.schemas import Event, InvalidEvent, decode_event, parse_event

__all__ = ["KEY_MISMATCH", "validate_record"]

KEY_MISMATCH = "key: the record key must be the event's customer_id (UTF-8), so one customer's events share a partition"


def validate_record(key: bytes | None, value: bytes | None, read_at: float | None,
                    max_future_seconds: float, *, fast: bool = False) -> Event | Any | str:
    """The event in a record, or the reason it is invalid (one line, no customer data).

    ``read_at`` is the Kafka record's timestamp in seconds: the moment the record is read
    for the future-timestamp rule (not the wall clock, so the verdict never changes), and
    the key must then be the event's ``customer_id`` (else one customer's events could be
    split across partitions). ``read_at=None`` is a line of a plain event file: it is
    checked against the wall clock, as ``cxpulse produce`` does, and has no key to check.

    ``fast``: the event as :func:`~cxpulse.schemas.decode_event` gives it (a struct with the
    model's fields, or the model where the fast decoder does not take the record), for code
    that reads its fields only; the verdict and the reason are the same either way.
    """
    try:
        event = (decode_event if fast else parse_event)(
            value if value is not None else b"", now=time.time() if read_at is None else read_at,
            max_future_seconds=max_future_seconds)
    except InvalidEvent as exc:
        return exc.reason
    if read_at is not None and (key is None or key != event.customer_id.encode("utf-8")):
        return KEY_MISMATCH
    return event
