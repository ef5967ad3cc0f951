"""Repeated client-library messages pass once per window; others pass untouched."""

import logging

from cxpulse.logthrottle import LogThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_repeated_message_passes_once_per_window_and_says_how_many_were_held():
    clock = Clock()
    throttle = LogThrottle(("aiokafka",), 30, clock)

    passed = [throttle.filter(record("aiokafka", "Unable connect to node with id %s", n)) for n in range(5)]
    clock.now = 31
    later = record("aiokafka", "Unable connect to node with id %s", 1)

    assert passed == [True, False, False, False, False]
    assert throttle.filter(later) and "and 4 more like it" in later.getMessage()


def test_other_loggers_and_other_messages_pass():
    throttle = LogThrottle(("aiokafka",), 30, Clock())

    assert throttle.filter(record("aiokafka", "a"))
    assert throttle.filter(record("aiokafka", "b"))
    assert throttle.filter(record("aiokafka.producer", "a"))
    assert all(throttle.filter(record("cxpulse.producers.gateway", "a")) for _ in range(3))
