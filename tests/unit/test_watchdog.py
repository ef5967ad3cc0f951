"""The broker's watchdog stops its target's process group once the watched process is gone."""

import subprocess
import sys

from cxpulse.supervisor import pid_alive
from cxpulse.watchdog import watch


def _start(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"], start_new_session=True)


def test_the_target_is_stopped_when_the_watched_process_ends():
    target, watched = _start(300), _start(0)
    try:
        watch(watched.pid, target.pid, grace=60, poll=0.05)  # returns once the target is gone
        assert not pid_alive(target.pid)  # (pid_alive reaps it: its exit status is not ours to read)
        assert not pid_alive(watched.pid)
    finally:
        target.kill()
        watched.kill()


def test_nothing_is_signalled_when_the_target_ended_first():
    target, watched = _start(0), _start(300)
    try:
        target.wait(timeout=30)
        watch(watched.pid, target.pid, grace=10, poll=0.05)
        assert watched.poll() is None  # the watched process is left alone
    finally:
        watched.kill()
