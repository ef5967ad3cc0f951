"""Per-token rate limiting of the ingest gateway: one token bucket per caller.

A bucket holds up to ``burst`` events and refills at ``rate`` events per second. A
request that costs more than the bucket holds is refused whole, with the number of
seconds after which it would fit (the ``Retry-After`` the client gets).
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "TokenBucket", "retry_after"]


@dataclass
class TokenBucket:
    """``tokens`` available at time ``at`` (monotonic seconds)."""

    rate: float
    capacity: float
    tokens: float
    at: float

    def take(self, cost: float, now: float) -> float:
        """Take ``cost`` tokens and return 0.0, or take nothing and return the seconds to wait."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if cost <= self.tokens:
            self.tokens -= cost
            return 0.0
        if cost > self.capacity:
            return math.inf
        return (cost - self.tokens) / self.rate


class RateLimiter:
    """Buckets by caller (a token's name, or a client address); ``rate == 0`` means no limit.

    ``max_callers`` bounds the buckets kept (the least recently used is forgotten first): the
    callers of an address limiter are whoever connects, not a configured list.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_callers: int | None = None) -> None:  # fmt: skip
        self.rate = rate
        self.burst = burst
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, caller: str, cost: int = 1) -> float:
        """0.0 when ``caller`` may spend ``cost`` events now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = TokenBucket(self.rate, float(self.burst), float(self.burst), now)
            if self.max_callers is not None and len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        elif self.max_callers is not None:
            self._buckets.move_to_end(caller)
        return bucket.take(cost, now)

    def available(self, caller: str) -> bool:
        """True when ``caller``'s bucket holds at least one event (a cheap check before reading a body)."""
        return self.take(caller, 0) == 0.0 and (self.rate <= 0 or self._buckets[caller].tokens >= 1)


def retry_after(seconds: float) -> int:
    """Whole seconds for a ``Retry-After`` header (at least 1)."""
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) else 60
