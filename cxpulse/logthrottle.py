"""Keep Kafka client libraries from flooding the logs while a broker is away.

aiokafka logs "Unable connect to node ..." at ERROR every ~100 ms while it retries; an
operator needs the first line, not thousands. :func:`throttle_logs` lets each distinct
message of the named loggers through once per ``seconds`` and counts what it held back.
"""

import logging
import time
from collections.abc import Callable

__all__ = ["LogThrottle", "throttle_logs"]


class LogThrottle(logging.Filter):
    """Passes a (logger, message template) at most once per ``seconds`` for loggers under ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...], seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.seconds = seconds
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._last) > 1000:  # bounded: templates, not formatted messages
            self._last.clear()
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.seconds:g} s)"
        return True


def throttle_logs(prefixes: tuple[str, ...] = ("aiokafka", "kafka"), seconds: float = 30.0) -> LogThrottle:
    """Install a :class:`LogThrottle` on every handler of the root logger; return it."""
    throttle = LogThrottle(prefixes, seconds)
    for handler in logging.getLogger().handlers:
        handler.addFilter(throttle)
    return throttle
