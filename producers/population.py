"""Who the simulated customers are and how they reach the company: segments, service types, channels.

Pure data and small choosers; the simulator draws from them with its own seeded
random generators, so nothing here holds state.
"""

import functools
import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = [
    "CHANNELS_BY_KIND",
    "SEGMENTS",
    "SERVICE_TYPES",
    "choose",
    "choose_channel",
    "choose_service_type",
    "SLA_HOURS",
]

T = TypeVar("T")

# (value, weight) tables. Weights need not sum to 1.
SEGMENTS: tuple[tuple[str, float], ...] = (
    ("standard", 0.84),
    ("key", 0.07),  # business accounts
    ("vip", 0.05),
    ("vulnerable", 0.04),  # elderly, disabled: the priority lane
)

SERVICE_TYPES: tuple[tuple[str, float], ...] = (
    ("billing", 0.26),
    ("payment", 0.14),
    ("account", 0.13),
    ("repair", 0.12),
    ("metering", 0.10),
    ("outage", 0.08),
    ("installation", 0.09),
    ("relocation", 0.08),
)

# How each kind of contact arrives, by segment where it differs.
_INBOUND_CALL = (("phone", 0.82), ("chat", 0.18))
_TICKET = (("web", 0.34), ("app", 0.28), ("email", 0.14), ("phone", 0.14), ("counter", 0.06), ("social", 0.04))
_SURVEY = (("app", 0.36), ("email", 0.28), ("web", 0.2), ("phone", 0.12), ("other", 0.04))
_COMMENT = (("app", 0.3), ("web", 0.25), ("email", 0.25), ("social", 0.15), ("counter", 0.05))
_OUTBOUND = (("phone", 1.0),)

CHANNELS_BY_KIND: dict[str, tuple[tuple[str, float], ...]] = {
    "inbound_call": _INBOUND_CALL,
    "outbound_call": _OUTBOUND,
    "ticket": _TICKET,
    "survey": _SURVEY,
    "comment": _COMMENT,
}

# Segments with their own habits: business accounts write, VIPs and vulnerable customers call.
_SEGMENT_CHANNELS: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("key", "ticket"): (("email", 0.45), ("web", 0.35), ("phone", 0.2)),
    ("vip", "inbound_call"): (("phone", 0.95), ("chat", 0.05)),
    ("vulnerable", "inbound_call"): (("phone", 1.0),),
    ("vulnerable", "ticket"): (("counter", 0.4), ("phone", 0.45), ("web", 0.15)),
}

# Promised resolution time by ticket priority.
SLA_HOURS: dict[str, float] = {"low": 120, "normal": 72, "high": 24, "urgent": 4}


def choose(rng: random.Random, table: Sequence[tuple[T, float]]) -> T:
    """A value drawn from a ``(value, weight)`` table."""
    point = rng.random() * sum(weight for _, weight in table)
    for value, weight in table:
        point -= weight
        if point < 0:
            return value
    return table[-1][0]


def choose_channel(rng: random.Random, kind: str, segment: str) -> str:
    """The channel of one contact of ``kind`` (see ``CHANNELS_BY_KIND``) for a segment."""
    return choose(rng, _SEGMENT_CHANNELS.get((segment, kind), CHANNELS_BY_KIND[kind]))


def choose_service_type(rng: random.Random, exclude: str | None = None) -> str:
    """A service type by how often customers need it, optionally never ``exclude``."""
    return choose(rng, _without(exclude))


@functools.cache
def _without(exclude: str | None) -> tuple[tuple[str, float], ...]:
    return tuple((name, weight) for name, weight in SERVICE_TYPES if name != exclude)
