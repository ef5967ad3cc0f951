"""The commands of the merged branches with no broker to reach, as a user runs them: each says so
in one line of its own ("cannot reach Kafka at ..."), with no traceback and no library's log lines.

They wait for the broker as long as their clients do (15 s and more), so they run at once.
``alerts tail`` has its own test (tests/integration/console/test_tail_cli.py).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import _free_port

ONE_SHOT = {
    "bridge": ["bridge", "--source", "zendesk", "--from-topic", "raw.zendesk"],
    "dlq list": ["dlq", "list"],
    "dlq resend": ["dlq", "resend", "--dry-run"],
    "backtest": ["backtest", "--since", "1h"],
    "calibrate": ["calibrate", "--since", "1d", "--out", "fitted.toml"],
}
# What a library prints when it is not kept quiet (cxpulse/logs.py), or a second copy of an error's name.
NOISE = ("aiokafka", "kafka.", "Unclosed", "Traceback", "Error: KafkaTimeoutError", "Error: KafkaConnectionError")


def _start(args: list[str], port: int, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_"))}
    env.update(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", CXPULSE_CONFIG="", COLUMNS="200")
    script = Path(sys.executable).with_name("cxpulse")
    return subprocess.Popen([str(script), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_each_command_says_it_cannot_reach_kafka_in_one_line(tmp_path):
    ports = {name: _free_port() for name in ONE_SHOT}
    running = {name: _start(args, ports[name], tmp_path) for name, args in ONE_SHOT.items()}
    try:
        finished = {name: process.communicate(timeout=180) for name, process in running.items()}
    finally:
        for process in running.values():
            process.kill()

    for name, (out, err) in finished.items():
        lines = err.strip().splitlines()
        error = f"cxpulse: error: cannot reach Kafka at 127.0.0.1:{ports[name]}: "
        assert running[name].returncode == 1, f"{name}: {err}"
        assert lines and lines[-1].startswith(error), f"{name}: {err}"
        assert [line for line in lines if line.startswith("cxpulse: error")] == lines[-1:], f"{name}: {err}"
        assert not [word for word in NOISE if word in err + out], f"{name}: {err}"
        assert len(lines) <= 2, f"{name}: {err}"  # the bridge announces what it bridges first


def test_console_serve_says_so_once_per_retry_and_keeps_serving(tmp_path):
    port = _free_port()
    console = _start(["console", "serve", "--port", "0"], port, tmp_path)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while sum("cannot reach Kafka" in line for line in lines) < 2 and time.monotonic() < deadline:
            line = console.stderr.readline()  # the console writes only to stderr
            if not line:
                break
            lines.append(line.rstrip("\n"))
        assert console.poll() is None, "\n".join(lines)  # it keeps serving (the page shows a banner)
        console.send_signal(signal.SIGINT)
        rest, more = console.communicate(timeout=30)
    finally:
        console.kill()
    lines += more.splitlines()

    failures = [line for line in lines if "cannot reach Kafka" in line]
    assert len(failures) >= 2, "\n".join(lines)
    assert all(f"console feed: cannot reach Kafka at 127.0.0.1:{port}: " in line for line in failures)
    others = [line for line in lines if line not in failures]
    assert len(others) == 1 and others[0].startswith("supervisor console on http://127.0.0.1:"), "\n".join(lines)
    assert not [word for word in NOISE if word in "\n".join(lines) + rest]


pytestmark = pytest.mark.timeout(240)
