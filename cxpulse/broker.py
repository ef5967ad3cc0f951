"""A single-node Apache Kafka broker (KRaft) run from the official jars, without Docker.

``cxpulse kafka up|down|status|wipe`` and the test session drive it::

    broker = LocalBroker(BrokerSettings(port=19092, controller_port=19094, data_dir=tmp))
    started = broker.start()        # resolves jars, formats storage, waits until it answers
    started.bootstrap_servers       # "127.0.0.1:19092"
    broker.stop()

The broker runs detached in its own session, so it outlives the command that started
it; ``broker.pid`` in ``data_dir`` is how ``down`` and ``status`` find it again.
"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cxpulse.broker_files import find_java, format_storage, libs_dir, resolve_jars, storage_formatted, write_config
from cxpulse.errors import BrokerError
from cxpulse.settings import BrokerSettings, KafkaSettings
from cxpulse.supervisor import pid_alive, read_pid, signal_group

__all__ = ["BrokerStatus", "LocalBroker", "StartResult", "broker_answers", "port_in_use"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StartResult:
    """What ``LocalBroker.start`` did."""

    pid: int
    bootstrap_servers: str
    seconds: float  # from the start call until the broker answered
    already_running: bool = False
    resolved_jars: bool = False
    formatted: bool = False


@dataclass(frozen=True)
class BrokerStatus:
    """Whether the broker of a data directory runs and answers."""

    pid: int | None
    bootstrap_servers: str | None
    answering: bool
    stale_pid: int | None = None  # a pid file whose process is gone

    @property
    def running(self) -> bool:
        return self.pid is not None


class LocalBroker:
    """Start, stop and inspect the local broker whose files live in ``settings.data_dir``."""

    def __init__(self, settings: BrokerSettings, progress: Progress | None = None, secure: bool = False) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.expanduser().resolve()
        self.secure = secure  # SASL_SSL (SCRAM) listener; see cxpulse.broker_security
        self._progress = progress or (lambda message: None)
        self._child: subprocess.Popen | None = None
        self._log_start: dict[Path, int] = {}  # where this run's lines begin in each log

    @property
    def security_dir(self) -> Path:
        return self.data_dir / "security"

    def client_settings(self, client_id: str = "cxpulse") -> KafkaSettings:
        """``KafkaSettings`` that reach this broker as it is configured (SCRAM over TLS when secured)."""
        address = self._configured_address() or self.bootstrap_servers
        if self._configured_protocol() == "SASL_SSL":
            from cxpulse.broker_security import load_security

            security = load_security(self.security_dir)
            if security is not None:
                return security.client_settings(address, client_id)
        return KafkaSettings(bootstrap_servers=address, client_id=client_id)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    def start(self, timeout: float | None = None, *, stop_with: int | None = None) -> StartResult:
        """Start the broker unless it already runs; return once it answers a metadata request.

        ``stop_with``: a pid whose death stops the broker too (the test session's, so a
        killed pytest leaves no broker behind). By default the broker outlives its starter.
        """
        began = time.monotonic()
        current = self.status()
        if current.pid is not None:  # running
            return StartResult(current.pid, current.bootstrap_servers or "", 0.0, already_running=True)
        self.pid_file.unlink(missing_ok=True)  # stale: its process is gone
        java = find_java()
        self._check_ports_free()
        if not (libs_dir(self.settings) / ".complete").is_file():
            self._progress(f"resolving Apache Kafka {self.settings.kafka_version} jars with Maven (once)")
        resolved = resolve_jars(self.settings)
        overrides, format_args = self._security_config()
        server, log4j = write_config(self.settings, self.data_dir, overrides)
        formatted = format_storage(java, self.settings, server, format_args)
        self._progress(f"starting Kafka {self.settings.kafka_version} on {self.bootstrap_servers}")
        self._child = self._spawn(java, server, log4j)
        self.pid_file.write_text(f"{self._child.pid}\n")
        if stop_with is not None:
            _watch(stop_with, self._child.pid)
        self._wait_until_answering(began + (timeout or self.settings.start_timeout_seconds))
        elapsed = time.monotonic() - began
        return StartResult(self._child.pid, self.bootstrap_servers, elapsed, resolved_jars=resolved, formatted=formatted)

    def stop(self, grace: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after ``grace`` s); False when it was not running."""
        pid = self._our_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        signal_group(pid, signal.SIGTERM)
        if not self._wait_gone(pid, time.monotonic() + grace):
            signal_group(pid, signal.SIGKILL)
            self._wait_gone(pid, time.monotonic() + 10)
        self.pid_file.unlink(missing_ok=True)
        self._child = None
        return True

    def status(self, timeout: float = 5.0) -> BrokerStatus:
        """Look the broker up by its pid file and ask it for metadata."""
        pid = self._our_pid()
        recorded = read_pid(self.pid_file)
        stale = recorded if recorded is not None and pid is None else None
        if pid is None:
            return BrokerStatus(None, None, False, stale_pid=stale)
        address = self._configured_address() or self.bootstrap_servers
        host, port = address.rsplit(":", 1)
        probe = self.client_settings("cxpulse-probe")
        return BrokerStatus(pid, address, _port_open(host, int(port)) and broker_answers(address, timeout, probe))

    def wipe(self) -> None:
        """Delete the data directory (data, logs, config); refused while the broker runs."""
        if self._our_pid() is not None:
            raise BrokerError(f"the broker is running (pid {self._our_pid()}); run 'cxpulse kafka down' first")
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)

    def failure_cause(self) -> str:
        """The most telling line of the broker's logs since it was last started (why it failed)."""
        return _failure_cause([self.data_dir / "logs" / "broker.out", self.log_file], since=self._log_start)

    def _security_config(self) -> tuple[dict[str, str], list[str]]:
        """server.properties overrides and StorageTool arguments for a secured broker."""
        # Once secured, a data directory stays secured: a plain restart must not open it up.
        if not (self.secure or (self.security_dir / "users.json").is_file()):
            return {}, []
        from cxpulse.broker_security import ensure_security, load_security, scram_format_args, secure_properties

        server = self.data_dir / "server.properties"
        if load_security(self.security_dir) is None and server.is_file() and storage_formatted(server):
            raise BrokerError(
                f"{self.data_dir} holds a broker formatted without --secure (no SCRAM users); "
                "start it with --wipe or use another data directory"
            )
        security = ensure_security(self.security_dir, self.settings.host)
        security.write_client_config(self.bootstrap_servers)
        host, port, cport = self.settings.host, self.settings.port, self.settings.controller_port
        return secure_properties(security, host, port, cport), scram_format_args(security)

    def _spawn(self, java: Path, server: Path, log4j: Path) -> subprocess.Popen:
        command = [
            str(java), f"-Xmx{self.settings.heap}", f"-Xms{self.settings.heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}", "-cp", f"{libs_dir(self.settings)}/*",
            "kafka.Kafka", str(server),
        ]  # fmt: skip
        self._log_start = {self.log_file: self.log_file.stat().st_size if self.log_file.is_file() else 0}
        with (self.data_dir / "logs" / "broker.out").open("wb") as out:  # this run's JVM output only
            return subprocess.Popen(
                command, cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the command that started it; no terminal signals
            )  # fmt: skip

    def _wait_until_answering(self, deadline: float) -> None:
        assert self._child is not None
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(f"the broker exited during start-up: {self.failure_cause()}")
            if _port_open(self.settings.host, self.settings.port) and broker_answers(
                self.bootstrap_servers, 5.0, self.client_settings("cxpulse-probe")
            ):
                return
            time.sleep(0.2)
        cause = self.failure_cause()
        self.stop(grace=10)
        raise BrokerError(
            f"the broker did not answer within {self.settings.start_timeout_seconds:g} s "
            f"(see {self.log_file}): {cause}"
        )

    def _check_ports_free(self) -> None:
        for name, port in (("--port", self.settings.port), ("--controller-port", self.settings.controller_port)):
            if port_in_use(self.settings.host, port):
                raise BrokerError(f"port {port} on {self.settings.host} is in use; choose another with {name}")

    def _our_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        return pid if _is_our_broker(pid, self.data_dir / "server.properties") else None

    def _wait_gone(self, pid: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self._child is not None and self._child.pid == pid:
                if self._child.poll() is not None:
                    return True
            elif not pid_alive(pid):
                return True
            time.sleep(0.1)
        return False

    def _configured_address(self) -> str | None:
        match = self._advertised()
        return match.group(2) if match else None

    def _configured_protocol(self) -> str | None:
        match = self._advertised()
        return match.group(1) if match else None

    def _advertised(self) -> re.Match | None:
        server = self.data_dir / "server.properties"
        text = server.read_text() if server.is_file() else ""
        return re.search(r"^advertised\.listeners=(\w+)://(\S+)$", text, re.MULTILINE)


def _watch(watched: int, broker: int) -> None:
    subprocess.Popen(
        [sys.executable, "-m", "cxpulse.watchdog", str(watched), str(broker)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def broker_answers(bootstrap_servers: str, timeout: float = 5.0, kafka: KafkaSettings | None = None) -> bool:
    """True when a broker at ``bootstrap_servers`` answers a metadata request with itself in it.

    ``kafka`` supplies the security settings (SASL, TLS) of the probe; plaintext without it.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from cxpulse.clients import kafka_python_config

    host, _, port = bootstrap_servers.split(",")[0].strip().rpartition(":")
    if not port.isdigit() or not _port_open(host or "127.0.0.1", int(port)):
        return False  # nothing listens: say so without kafka-python's retry log lines
    millis = int(timeout * 1000)
    security = kafka_python_config(kafka) if kafka is not None else {}
    try:
        admin = KafkaAdminClient(
            **{**security, "bootstrap_servers": bootstrap_servers, "client_id": "cxpulse-probe"},
            request_timeout_ms=millis,
            bootstrap_timeout_ms=millis,
        )
    except (KafkaError, OSError):
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def port_in_use(host: str, port: int) -> bool:
    """True when nothing can listen on ``host:port`` (bound the way the JVM binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False





def _is_our_broker(pid: int, server: Path) -> bool:
    """The pid is a Kafka broker started with this data directory's config (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return True  # no procfs: trust the pid file
    return b"kafka.Kafka" in cmdline and str(server).encode() in cmdline



_CAUSE = re.compile(r"\b[\w.$]*(Exception|Error): ")  # "org.apache...KafkaException: <why>"


def _failure_cause(logs: list[Path], since: dict[Path, int] | None = None, tail: int = 400) -> str:
    lines: list[str] = []
    for log in logs:
        if log.is_file():
            with log.open("rb") as handle:
                handle.seek((since or {}).get(log, 0))
                lines += handle.read().decode("utf-8", errors="replace").splitlines()[-tail:]
    exceptions = [line.strip() for line in lines if _CAUSE.search(line) and not line.startswith("\tat ")]
    errors = [line.strip() for line in lines if " ERROR " in line or " FATAL " in line]
    chosen = (exceptions or errors or [line.strip() for line in lines if line.strip()] or ["no log output"])[-1]
    return chosen[:400]
