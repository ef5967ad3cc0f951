"""Child processes that a command starts and must stop: the demo's workers, router, servers.

Also the pid helpers every process owner shares (the broker rig, ``cxpulse ops``):
``read_pid(path)``, ``pid_alive(pid)``, ``signal_group(pid, sig)``.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cxpulse.errors import CxpulseError

__all__ = ["Child", "ChildDied", "Children", "cxpulse_command", "pid_alive", "read_pid", "signal_group"]


class ChildDied(CxpulseError):
    """A child process ended while it should still be running."""


def cxpulse_command(*args: str) -> list[str]:
    """argv that runs ``cxpulse <args>`` with this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "cxpulse", *args]


@dataclass
class Child:
    """One started process, its own session (so its whole group can be signalled) and log."""

    name: str
    process: subprocess.Popen
    log: Path
    daemon: bool = True  # expected to run until stopped; a finite job is not

    def alive(self) -> bool:
        return self.process.poll() is None

    def last_lines(self, count: int = 5) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in lines[-count:] if line.strip())


class Children:
    """Start processes with logs in one folder; stop them all, gently first."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self._children: list[Child] = []

    def start(self, name: str, argv: list[str], *, daemon: bool = True) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(
                argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, start_new_session=True,
            )  # fmt: skip
        child = Child(name, process, log, daemon)
        self._children.append(child)
        return child

    def check(self) -> None:
        """Raise :class:`ChildDied` naming the first daemon child that has exited."""
        for child in self._children:
            if child.daemon and not child.alive():
                raise ChildDied(
                    f"{child.name} exited with code {child.process.returncode}: {child.last_lines()} "
                    f"(log: {child.log})"
                )

    def stop_all(self, grace: float = 20.0) -> None:
        """SIGTERM every child's group, wait up to ``grace`` seconds, then SIGKILL what is left."""
        for child in reversed(self._children):
            _signal(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self._children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(child, signal.SIGKILL)
                child.process.wait(timeout=10)
        self._children.clear()


def _signal(child: Child, sig: signal.Signals) -> None:
    if child.alive():
        signal_group(child.process.pid, sig)


def read_pid(path: Path) -> int | None:
    """The pid recorded in ``path``; None when the file is missing or not a number."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """The process runs (an exited child of ours is reaped; a zombie counts as gone)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass  # not our child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return _signal_zero(pid)  # no procfs (macOS), or it is gone
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group ``pid`` leads (its own session), else the process; gone is fine."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
