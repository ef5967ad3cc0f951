"""The live worker's verdict on one record, reproduced: valid event or invalid with a reason.

The worker (``processors/scoring.py``) takes the Kafka record timestamp as the moment
the record is read for the future-timestamp rule, and refuses a record whose key is not
the event's customer id. Replaying the same records gives the same verdicts. Events from
plain event files have neither: they are checked against the wall clock (as
``cxpulse produce`` does) and their key is the customer id by construction.
"""

import time

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.scoring import KEY_MISMATCH
from cxpulse.schemas import Event, InvalidEvent, parse_event

__all__ = ["KEY_MISMATCH", "read_event"]


def read_event(record: SourceRecord, max_future_seconds: float) -> Event:
    """The event in ``record``; raises :class:`InvalidEvent` with the worker's reason."""
    if record.problem is not None:
        raise InvalidEvent(record.problem)
    value = record.value
    if record.timestamp is None:
        return parse_event(value if value is not None else b"", now=time.time(),
                           max_future_seconds=max_future_seconds)
    event = parse_event(value if value is not None else b"", now=record.timestamp / 1000.0,
                        max_future_seconds=max_future_seconds)
    key = record.key
    if key is None or key != event.customer_id.encode("utf-8"):
        raise InvalidEvent(KEY_MISMATCH)
    return event
