"""Stop a process when another one is gone: ``python -m cxpulse.watchdog WATCHED TARGET``.

The local broker outlives the command that starts it (its own session). When a caller
asks for the broker to stop with it (the test session, ``cxpulse demo``), a detached
watchdog polls both pids and stops the broker's process group (SIGTERM, SIGKILL after
30 s) once the caller has exited, even if the caller was killed.
"""

import signal
import sys
import time

from cxpulse.supervisor import pid_alive, signal_group

__all__ = ["watch"]


def watch(watched: int, target: int, grace: float = 30.0, poll: float = 1.0) -> None:
    """Wait while both run; then TERM ``target``'s group, and KILL it after ``grace``."""
    while pid_alive(target) and pid_alive(watched):
        time.sleep(poll)  # polling two pids of processes that are not our children
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        if not pid_alive(target):
            return
        signal_group(target, sig)
        deadline = time.monotonic() + wait
        while pid_alive(target) and time.monotonic() < deadline:
            time.sleep(0.2)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]))
