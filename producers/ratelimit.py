"""Per-token rate limiting of the ingest gateway: one token bucket per caller.

A bucket holds up to ``burst`` events and refills at ``rate`` events per second. A
request that costs more than the bucket holds is refused whole, with the number of
seconds after which it would fit (the ``Retry-After`` the client gets).
"""

import math
import time
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
    """Buckets by caller name; ``rate == 0`` means no limit."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}  # bounded: callers are the configured tokens

    def take(self, caller: str, cost: int = 1) -> float:
        """0.0 when ``caller`` may spend ``cost`` events now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = TokenBucket(self.rate, float(self.burst), float(self.burst), now)
        return bucket.take(cost, now)

    def available(self, caller: str) -> bool:
        """True when ``caller``'s bucket holds at least one event (a cheap check before reading a body)."""
        return self.take(caller, 0) == 0.0 and (self.rate <= 0 or self._buckets[caller].tokens >= 1)


def retry_after(seconds: float) -> int:
    """Whole seconds for a ``Retry-After`` header (at least 1)."""
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) else 60
