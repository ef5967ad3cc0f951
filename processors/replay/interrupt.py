"""Ctrl-C for long commands: the first asks the loop to stop cleanly, the second aborts."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from cxpulse.console import err_console

__all__ = ["Stoppable", "stop_on_signals"]


class Stoppable(Protocol):
    def stop(self) -> None: ...


@contextmanager
def stop_on_signals(target: Stoppable, what: str = "stopping after the current record") -> Iterator[None]:
    """While inside, SIGINT and SIGTERM call ``target.stop()``; a second Ctrl-C raises KeyboardInterrupt."""

    def first(signum, frame):  # noqa: ARG001 - signal handler signature
        err_console.print(f"{what} (Ctrl-C again to abort)", highlight=False)
        target.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old = {sig: signal.signal(sig, first) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
