"""Fixtures for tests that run cxpulse as real processes.

    gateway_factory(settings, log_level=None) -> GatewayProcess
        Runs ``cxpulse ingest serve`` as a subprocess with ``settings`` (as a config
        file) on a free port, with one ingest token added (``.token``) unless
        ``settings.gateway.tokens`` has some; waits until it answers HTTP. Stopped with
        SIGTERM at the end of the test. ``.post(body, token=...)``, ``.get(path)``
        return ``HttpAnswer``; ``.logs()`` is everything it printed.
"""

import http.client
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxpulse.settings import Settings

from ..conftest import _free_port


@dataclass
class HttpAnswer:
    """Status, headers (lower-case names) and body of one HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 60.0) -> HttpAnswer:  # fmt: skip
    """One request on a fresh connection to 127.0.0.1:``port``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return HttpAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        connection.close()


def _cxpulse() -> list[str]:
    script = Path(sys.executable).with_name("cxpulse")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from cxpulse.cli import main; main()"]


@dataclass
class GatewayProcess:
    """A running ``cxpulse ingest serve``."""

    process: subprocess.Popen
    port: int
    token: str
    log_path: Path
    settings: Settings
    extra_env: dict[str, str] = field(default_factory=dict)

    def post(self, body: bytes | Any, token: str | None = None, headers: dict[str, str] | None = None) -> HttpAnswer:
        """POST ``body`` (bytes as is, anything else as JSON) to /v1/events with the token."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        sent = {"Content-Type": "application/json", **(headers or {})}
        chosen = self.token if token is None else token
        if chosen:
            sent["Authorization"] = f"Bearer {chosen}"
        return http_request(self.port, "POST", "/v1/events", data, sent)

    def get(self, path: str) -> HttpAnswer:
        return http_request(self.port, "GET", path)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait (SIGKILL after ``timeout``); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def _answers(gateway: GatewayProcess) -> bool:
    if gateway.process.poll() is not None:
        pytest.fail(f"the gateway exited with {gateway.process.returncode}: {gateway.logs()[-2000:]}")
    try:
        return gateway.get("/openapi.json").status == 200
    except OSError:
        return False


def _token_json(entry: Any) -> dict[str, Any]:
    data = entry.model_dump(exclude_none=True)
    if "token" in data:
        data["token"] = entry.token.get_secret_value()
    return data


@pytest.fixture
def gateway_factory(tmp_path: Path, config_file_factory, wait_for) -> Iterator[Callable[..., GatewayProcess]]:
    """``gateway_factory(settings, log_level=None) -> GatewayProcess`` (see the module docstring)."""
    started: list[GatewayProcess] = []

    def start(settings: Settings, log_level: str | None = None, env: dict[str, str] | None = None) -> GatewayProcess:
        token = secrets.token_urlsafe(32)
        gateway = settings.gateway
        tokens = [_token_json(entry) for entry in gateway.tokens] or [{"name": "tests", "token": token}]
        port = _free_port()
        # Tokens go through the environment (as an operator would keep them out of files).
        updated = settings.model_copy(update={"gateway": gateway.model_copy(update={"port": port, "host": "127.0.0.1", "tokens": []})})
        config = config_file_factory(updated)
        env = {**(env or {}), "CXPULSE_GATEWAY__TOKENS": orjson.dumps(tokens).decode()}
        log_path = tmp_path / f"gateway-{port}.log"
        command = [*_cxpulse(), "--config", str(config)]
        if log_level:
            command += ["--log-level", log_level]
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [*command, "ingest", "serve"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
            )  # fmt: skip
        running = GatewayProcess(process, port, token, log_path, updated)
        started.append(running)
        wait_for(lambda: _answers(running), timeout=60, message="the gateway answers HTTP")
        return running

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def wait_healthy(wait_for) -> Callable[[GatewayProcess], None]:
    """``wait_healthy(gateway)``: wait until /healthz says Kafka is reachable."""

    def wait(gateway: GatewayProcess, timeout: float = 60.0) -> None:
        wait_for(lambda: gateway.get("/healthz").status == 200, timeout=timeout, message="gateway /healthz is 200")

    return wait
