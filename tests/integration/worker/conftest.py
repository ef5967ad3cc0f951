"""Fixtures for the worker's integration tests: ``cxpulse worker`` as a real subprocess."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cxpulse.producers.settings import GatewayToken
from cxpulse.settings import Settings

from ...conftest import _free_port

# The read API answers customer data only to a token with the read scope: every test worker has this one.
READ_TOKEN = "test-reader-" + "r" * 24


def with_reader(settings: Settings) -> Settings:
    """``settings`` whose ``[gateway] tokens`` include the tests' read token."""
    tokens = settings.gateway.tokens
    if any(t.name == "test-reader" for t in tokens):
        return settings
    reader = GatewayToken(name="test-reader", token=READ_TOKEN, scopes=["read"])
    return settings.model_copy(update={"gateway": settings.gateway.model_copy(update={"tokens": [*tokens, reader]})})


class WorkerProcess:
    """A running ``cxpulse --config FILE worker``; its output goes to a log file."""

    def __init__(self, settings: Settings, config: Path, log: Path) -> None:
        self.settings = settings
        self.log_path = log
        self._log = log.open("ab")
        code = "from cxpulse.cli import main; main()"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "--config", str(config), "worker", "--loglevel", "info"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.worker.web_port}"

    def get(self, path: str, token: str | None = READ_TOKEN) -> tuple[int, Any]:
        """``(status, JSON body)`` of a GET on the worker's web server (with the read token unless ``None``)."""
        return self.request("GET", path, token=token)

    def request(self, method: str, path: str, body: Any = None, token: str | None = READ_TOKEN,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """``(status, JSON body)`` of a request to the worker's web server."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                self.last_headers = dict(response.headers)
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            self.last_headers = dict(exc.headers)
            return exc.code, json.loads(exc.read() or b"null")

    def health(self) -> dict | None:
        """``/healthz`` body, or ``None`` while the web server does not answer yet."""
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
        try:
            status, body = self.get("/healthz", token=None)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None
        return body if status == 200 else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def another_worker(settings: Settings, name: str = "2") -> Settings:
    """The same worker group (app id, topics) with its own web port and data directory."""
    return settings.model_copy(update={"worker": settings.worker.model_copy(
        update={"web_port": _free_port(), "data_dir": f"{settings.worker.data_dir}-{name}"})})


# Log lines worth seeing after a failure: problems, and the steps of a restart (assignment, recovery, the rebuild).
NOTABLE = ("WARN", "ERROR", "CRIT", "Traceback", "SLA index rebuilt", "Restore complete", "Worker ready", "Assigned",
           "Highwater", "Seek stream partitions")


@pytest.fixture
def worker_factory(config_file_factory: Callable[[Settings], Path], tmp_path: Path, wait_for: Callable[..., Any],
                   request: pytest.FixtureRequest) -> Iterator[Callable[..., WorkerProcess]]:
    """``worker_factory(settings) -> WorkerProcess``, ready (partitions assigned); stopped at teardown.
    When the test failed, each worker's notable log lines are printed (the report's teardown output)."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, ready_timeout: float = 90.0) -> WorkerProcess:
        settings = with_reader(settings)
        worker = WorkerProcess(settings, config_file_factory(settings), tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        wait_for(lambda: (h := worker.health()) and h["assigned_partitions"] > 0 and not h["rebalancing"],
                 timeout=ready_timeout, message="worker ready")
        return worker

    yield start
    for worker in started:
        worker.stop(signal.SIGKILL if worker.process.poll() is None else signal.SIGTERM, timeout=10)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for worker in started:
            lines = worker.log_path.read_text(errors="replace").splitlines()
            notable = [line for line in lines if any(word in line for word in NOTABLE)]
            print(f"--- {worker.log_path.name}: {len(lines)} lines, {len(notable)} notable (the last 60):")
            print("\n".join(notable[-60:]))
