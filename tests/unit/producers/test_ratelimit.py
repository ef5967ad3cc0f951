"""Token buckets: bursts, refill, the wait a refused request is told, per-caller isolation."""

import math

from cxpulse.producers.ratelimit import RateLimiter, TokenBucket, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_refused_with_the_wait():
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)

    assert limiter.take("crm", 20) == 0.0
    assert limiter.take("crm", 5) == 0.5  # 5 events at 10/s
    clock.now += 0.5
    assert limiter.take("crm", 5) == 0.0


def test_a_refused_request_takes_nothing():
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=10, clock=clock)
    limiter.take("crm", 8)

    assert limiter.take("crm", 5) > 0
    assert limiter.take("crm", 2) == 0.0


def test_the_bucket_never_holds_more_than_the_burst():
    clock = Clock()
    limiter = RateLimiter(rate=100, burst=10, clock=clock)
    clock.now += 3600

    assert limiter.take("crm", 10) == 0.0
    assert limiter.take("crm", 1) > 0


def test_callers_have_their_own_buckets():
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=5, clock=clock)
    limiter.take("crm", 5)

    assert limiter.take("helpdesk", 5) == 0.0
    assert not limiter.available("crm")
    assert limiter.available("helpdesk") is False  # it spent its 5 too


def test_more_than_the_burst_can_never_fit():
    bucket = TokenBucket(rate=1, capacity=5, tokens=5, at=0)

    assert bucket.take(6, 0) == math.inf


def test_rate_zero_means_unlimited():
    limiter = RateLimiter(rate=0, burst=1)

    assert all(limiter.take("crm", 10**6) == 0.0 for _ in range(3))
    assert limiter.available("crm")


def test_retry_after_is_whole_seconds_at_least_one():
    assert [retry_after(s) for s in (0.01, 1.0, 1.2, 59.9, math.inf)] == [1, 1, 2, 60, 60]


def test_an_address_limiter_keeps_a_bounded_number_of_callers():
    clock = Clock()
    limiter = RateLimiter(rate=0.001, burst=1, clock=clock, max_callers=2)
    limiter.take("10.0.0.1")
    limiter.take("10.0.0.2")
    assert limiter.take("10.0.0.1") > 0  # spent, and now the most recently used

    limiter.take("10.0.0.3")  # forgets 10.0.0.2, the least recently used

    assert len(limiter._buckets) == 2
    assert limiter.take("10.0.0.1") > 0
    assert limiter.take("10.0.0.2") == 0.0  # a fresh bucket
