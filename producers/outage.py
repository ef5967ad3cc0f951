"""The outage burst: many content customers call about one service type within minutes.

The burst is sized above the engine's ``incident_customers`` and fits well inside its
``incident_window_seconds``, so it fires exactly one ``incident``. The callers are
content customers; their burst call counts against their own limits like any contact.
"""

import math
import random
from dataclasses import dataclass, field

from .drafts import Draft, Persona, call
from .limits import Limits
from .population import choose, choose_channel
from .rhythm import HOUR_MS, MINUTE_MS, Rhythm

__all__ = ["Outage", "outage_size", "plan_outage"]

_OUTCOMES = (("callback", 0.35), ("resolved", 0.3), ("abandoned", 0.2), ("unresolved", 0.15))


@dataclass(slots=True)
class Outage:
    """Ground truth of the burst, and which of its calls were emitted."""

    service_type: str
    start_ms: int
    end_ms: int
    customers: list[str]
    planned: int = 0
    event_ids: list[str] = field(default_factory=list)


def outage_size(limits: Limits, customers: int, requested: int | None) -> int:
    """How many customers join the burst: ``requested``, else 20 % above the threshold or 3 %."""
    if requested is not None:
        return requested
    threshold = limits.engine.incident_customers
    return max(math.ceil(threshold * 1.2), math.ceil(customers * 0.03))


def plan_outage(
    rng: random.Random,
    rhythm: Rhythm,
    limits: Limits,
    callers: list[Persona],
    service_type: str,
    window: tuple[int, int],
    agents: int,
) -> tuple[Outage, list[Draft]]:
    """Calls from ``callers`` on ``service_type`` within a few minutes, late in ``window``."""
    low, high = window
    burst = min(10 * MINUTE_MS, int(limits.incident_window_ms * 0.6))
    start = rhythm.office_moment(rng, low + (high - low) * 2 // 5, max(low, high - HOUR_MS - burst))
    drafts = [_burst_call(rng, who, start + rng.randint(0, burst), service_type, agents) for who in callers]
    end = max(t for t, _ in drafts)
    outage = Outage(service_type, start, end, [who.customer_id for who in callers], planned=len(drafts))
    return outage, drafts


def _burst_call(rng: random.Random, who: Persona, at_ms: int, service_type: str, agents: int) -> Draft:
    outcome = choose(rng, _OUTCOMES)
    talk = 0.0 if outcome == "abandoned" else rng.uniform(30, 240)
    agent = None if outcome == "abandoned" else f"agent-{rng.randrange(agents):03d}"
    channel = choose_channel(rng, "inbound_call", who.segment)
    return call(who, at_ms, service_type, channel, direction="inbound", wait=rng.uniform(60, 900), talk=talk,
                outcome=outcome, sentiment=rng.uniform(-0.6, 0.2), agent=agent)  # fmt: skip
