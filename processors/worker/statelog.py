"""A busy customer's state as a base and an operation log (issue 11): no whole-state rewrite per event.

A customer whose stored state (``CustomerState.to_bytes()``, the *base*) is at least
``worker.state_delta_min_bytes`` long is not written whole for every batch that changes it.
The engine is deterministic, so the state is the base with the operations applied since:

- each valid, non-duplicate event, as the record's bytes with its source position, stepped
  again through :meth:`Engine.step` (the position becomes the state's ``source`` again);
- each SLA check that changed the state, as its clock, checked again through
  :meth:`Engine.check_sla`.

The worker writes those operations under a second key of the same table, :func:`delta_key`
(the customer id and ``/ops``: ``/`` is not allowed in a customer id), on the customer's
changelog partition. A delta record names its base by the base's CRC-32: a delta whose
base was since rewritten is stale and ignored, so a rebase (the whole state written again)
needs no tombstone, and a rebase whose base record was lost leaves the previous base and
its delta in force. The delta is rebased when ``delta bytes x operations >= 2 x base bytes``
(or when it would be longer than the base):
with one event of ``e`` bytes per batch this writes ``sqrt(2 x base x e)`` bytes per event
on average instead of ``base`` (the sum ``base + e + 2e + ... + ne`` over ``n`` events is
smallest at ``n = sqrt(2 base / e)``).

Pure: no Kafka, no faust; the one :class:`Engine` re-applies the operations.
"""

import math
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from cxpulse.processors.engine import CustomerState
from cxpulse.schemas import decode_event

__all__ = ["DELTA_SUFFIX", "DELTA_VERSION", "Delta", "apply_ops", "delta_key", "delta_record", "event_op",
           "is_delta_key", "parse_delta", "sla_op", "stored_state", "wants_rebase"]

DELTA_SUFFIX = b"/ops"
DELTA_VERSION = 1
_EVENT, _SLA = 0, 1
_FRAME = 32  # a delta record's bytes besides its ops and their commas: "[1,<crc>,[...]]"


def delta_key(key: bytes) -> bytes:
    """The table key of a customer's operation log."""
    return key + DELTA_SUFFIX


def is_delta_key(key: bytes) -> bool:
    return key.endswith(DELTA_SUFFIX)


def crc(base: bytes) -> int:
    return zlib.crc32(base)


def event_op(partition: int, offset: int, value: bytes) -> bytes:
    """An applied event: where it was read and its record's bytes (a valid event: UTF-8 JSON)."""
    return orjson.dumps((_EVENT, partition, offset, value.decode("utf-8")))


def sla_op(clock: float) -> bytes | None:
    """An SLA check that changed the state, at ``clock``; None when the clock is not finite (JSON has no inf)."""
    return orjson.dumps((_SLA, clock)) if math.isfinite(clock) else None


class Delta:
    """What the store holds of one customer besides its base: the base's CRC and length, the ops since."""

    __slots__ = ("base_crc", "base_len", "ops", "nbytes")

    def __init__(self, base_crc: int, base_len: int, ops: list[bytes] | None = None) -> None:
        self.base_crc = base_crc
        self.base_len = base_len
        self.ops: list[bytes] = ops if ops is not None else []
        self.nbytes = sum(map(len, self.ops))


def wants_rebase(base_len: int, ops: int, nbytes: int) -> bool:
    """Whether writing the whole state again costs less from here on than a growing delta, or
    the delta record would be longer than its base (so it never is: the changelog limit, set
    by the largest state, takes every delta record too)."""
    return nbytes * ops >= 2 * base_len or nbytes + ops + _FRAME >= base_len


def delta_record(delta: Delta) -> bytes:
    """The delta's changelog value: ``[version, base crc, [op, ...]]``."""
    return b"[%d,%d,[%b]]" % (DELTA_VERSION, delta.base_crc, b",".join(delta.ops))


def parse_delta(data: bytes) -> tuple[int, list[bytes]]:
    """``(base crc, ops as bytes)`` of a delta record; raises ValueError when it is not one."""
    row = orjson.loads(data)
    if not isinstance(row, list) or len(row) != 3 or row[0] != DELTA_VERSION or not isinstance(row[2], list):
        raise ValueError("not a customer state delta")
    return int(row[1]), [orjson.dumps(op) for op in row[2]]


def apply_ops(engine: Any, state: CustomerState, ops: list[bytes]) -> CustomerState:
    """``state`` with ``ops`` applied again, in order, through ``engine`` (one engine)."""
    for raw in ops:
        op = orjson.loads(raw)
        if op[0] == _EVENT:
            state = engine.step(state, decode_event(op[3])).state  # valid when applied: no future check again
            state.source = (op[1], op[2])
        elif op[0] == _SLA:
            engine.check_sla(state, op[1])
        else:
            raise ValueError(f"unknown state operation {op[0]!r}")
    return state


def stored_state(engine: Any, store: Mapping[bytes, bytes], key: bytes, data: bytes | None = None,
                 min_bytes: int = 0) -> tuple[CustomerState, Delta | None] | None:
    """A customer's state as the store holds it: its base with its (current) delta applied.

    Returns ``(state, delta)``; ``delta`` is None when the base is smaller than ``min_bytes``
    (0: deltas are off), so that its next change is written whole. A delta that names this
    base is applied whatever ``min_bytes`` is. None: no such customer.
    """
    if data is None:
        data = store.get(key)
        if data is None:
            return None
    state = CustomerState.from_bytes(data)
    stored = store.get(delta_key(key))
    eligible = bool(min_bytes) and len(data) >= min_bytes
    if stored is None and not eligible:
        return state, None
    base_crc = crc(data)
    if stored is not None:
        # Applied whatever ``min_bytes`` says now: a delta written under another setting still holds ops.
        try:
            delta_crc, ops = parse_delta(stored)
        except ValueError:
            delta_crc, ops = -1, []
        if delta_crc == base_crc:
            state = apply_ops(engine, state, ops)
            return state, Delta(base_crc, len(data), ops) if eligible else None
    return state, Delta(base_crc, len(data)) if eligible else None
