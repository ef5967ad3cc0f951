"""Prometheus, Alertmanager and a webhook sink from the local packages, with the repository's configs.

``cxpulse ops up`` and ``cxpulse demo`` use it; so do the integration tests::

    stack = OpsStack.from_settings(settings, Path("var/ops"), worker_ports=[6066, 6067])
    stack.missing()                 # ["prometheus"] when a binary is not installed
    urls = stack.start(children)    # renders configs, starts each server, waits until ready
    urls["Prometheus"]              # "http://127.0.0.1:9090"

``children`` starts processes: :class:`cxpulse.supervisor.Children` (they stop with their
starter) or :class:`DetachedProcesses` (they outlive it; ``cxpulse ops down`` stops them).
"""

import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings
from cxpulse.supervisor import Child, cxpulse_command, pid_alive, read_pid, signal_group

from .ops_render import find_deploy_dir, render_alertmanager, render_prometheus

__all__ = ["ALERTMANAGER_BINARIES", "DetachedProcesses", "OpsStack", "Starter"]

ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's name


class Starter(Protocol):
    """Starts a named process (``Children`` or ``DetachedProcesses``)."""

    def start(self, name: str, argv: list[str]) -> Any: ...


@dataclass
class OpsStack:
    """The servers of one run directory; ``prepare`` renders configs, ``start`` runs them."""

    run_dir: Path
    deploy_dir: Path
    host: str = "127.0.0.1"
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    sink_port: int = 9099
    targets: dict[str, list[str]] = field(default_factory=dict)
    scrape_interval: float = 15.0
    start_timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, run_dir: Path | None = None,
                      worker_ports: list[int] | None = None) -> "OpsStack":
        ops, alerts = settings.ops, settings.alerts
        am = urlsplit(alerts.alertmanager_url)
        if am.hostname not in ("127.0.0.1", "localhost", ops.host):
            raise CxpulseError(f"alerts.alertmanager_url ({alerts.alertmanager_url}) is not on this machine; "
                               "cxpulse ops starts a local Alertmanager only")
        workers = list(ops.worker_targets) or [f"127.0.0.1:{port}" for port in
                                               (worker_ports or [settings.worker.web_port])]
        router = [f"{alerts.metrics_host}:{alerts.metrics_port}"] if alerts.metrics_port else []
        targets = {"workers": workers, "gateway": list(ops.gateway_targets), "router": router,
                   "alertmanager": [f"{ops.host}:{am.port or 9093}"],
                   "prometheus": [f"{ops.host}:{ops.prometheus_port}"]}
        return cls(Path(run_dir or ops.data_dir), find_deploy_dir(ops.deploy_dir), ops.host, ops.prometheus_port,
                   am.port or 9093, ops.sink_port, targets, ops.scrape_interval_seconds, ops.start_timeout_seconds)

    # -- what is needed ------------------------------------------------------------------

    def missing(self) -> list[str]:
        """Binaries this machine lacks (``scripts/bootstrap.sh`` installs them)."""
        gone = [] if shutil.which("prometheus") else ["prometheus"]
        if not any(shutil.which(name) for name in ALERTMANAGER_BINARIES):
            gone.append("prometheus-alertmanager")
        return gone

    def _servers(self) -> list[tuple[str, str, str, str]]:
        """``(process name, display name, base URL, readiness path)`` of each server started."""
        servers = [("prometheus", "Prometheus", f"http://{self.host}:{self.prometheus_port}", "/-/ready"),
                   ("alertmanager", "Alertmanager", f"http://{self.host}:{self.alertmanager_port}", "/-/ready")]
        if self.sink_port:
            servers.append(("alert-sink", "webhook sink", f"http://{self.host}:{self.sink_port}", "/"))
        return servers

    @property
    def urls(self) -> dict[str, str]:
        return {shown: url for _, shown, url, _ in self._servers()}

    def prepare(self) -> dict[str, Path]:
        """Render the configs into the run directory; returns their paths (edit them before ``start``)."""
        sink = f"http://{self.host}:{self.sink_port}" if self.sink_port else None
        return {
            "prometheus": render_prometheus(self.deploy_dir, self.run_dir / "prometheus", self.targets,
                                            self.scrape_interval),
            "alertmanager": render_alertmanager(self.deploy_dir, self.run_dir / "alertmanager", sink),
        }

    def commands(self) -> dict[str, list[str]]:
        """Process name -> argv, in start order."""

        alertmanager = next((found for n in ALERTMANAGER_BINARIES if (found := shutil.which(n))), ALERTMANAGER_BINARIES[0])
        prom, am = self.run_dir / "prometheus", self.run_dir / "alertmanager"
        commands = {}
        if self.sink_port:
            commands["alert-sink"] = cxpulse_command("alerts", "sink", "--host", self.host, "--port", str(self.sink_port))
        commands["alertmanager"] = [
            alertmanager, f"--config.file={am / 'alertmanager.yml'}", f"--storage.path={am / 'data'}",
            f"--web.listen-address={self.host}:{self.alertmanager_port}",
            "--cluster.listen-address=",  # no HA gossip port (it would take 9094, the Kafka rig's controller port)
        ]
        commands["prometheus"] = [
            shutil.which("prometheus") or "prometheus", f"--config.file={prom / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom / 'data'}", f"--web.listen-address={self.host}:{self.prometheus_port}",
            "--storage.tsdb.retention.time=15d", "--web.enable-lifecycle",
        ]
        return commands

    # -- running -------------------------------------------------------------------------

    def start(self, children: Starter, prepare: bool = True) -> dict[str, str]:
        """Render the configs (``prepare=False``: use those already rendered), start every server,
        return their URLs once ready."""
        missing = self.missing()
        if missing:
            raise CxpulseError(f"not installed: {', '.join(missing)} (scripts/bootstrap.sh installs them)")
        if prepare:
            self.prepare()
        ports = {"alert-sink": self.sink_port, "alertmanager": self.alertmanager_port,
                 "prometheus": self.prometheus_port}
        commands = self.commands()
        for name in commands:
            _check_free(self.host, ports[name], name)
        started = [(name, children.start(name, argv)) for name, argv in commands.items()]
        for name, child in started:
            self._wait_ready(name, child)
        return self.urls

    def ready(self) -> dict[str, bool]:
        """Whether each server answers its readiness check now."""
        return {name: _answers(url) for name, url in self._ready_urls().items()}

    def _ready_urls(self) -> dict[str, str]:
        return {name: url + path for name, _, url, path in self._servers()}

    def _wait_ready(self, name: str, child: Any) -> None:
        url = self._ready_urls()[name]
        deadline = time.monotonic() + self.start_timeout
        while not _answers(url):
            if child is not None and hasattr(child, "alive") and not child.alive():
                raise CxpulseError(f"{name} exited: {child.last_lines()} (log: {child.log})")
            if time.monotonic() > deadline:
                raise CxpulseError(f"{name} did not answer {url} within {self.start_timeout:g} s")
            time.sleep(0.2)  # polling a server that is starting


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _check_free(host: str, port: int, name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            raise CxpulseError(f"{name}: port {port} on {host} is in use (already running? 'cxpulse ops status')")


class DetachedProcesses:
    """Processes that outlive their starter; ``<name>.pid`` and ``logs/<name>.log`` in ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def start(self, name: str, argv: list[str]) -> Child:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        log = self.run_dir / "logs" / f"{name}.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        (self.run_dir / f"{name}.pid").write_text(f"{process.pid}\n")
        return Child(name, process, log)

    def running(self) -> dict[str, int]:
        """name -> pid of every recorded process still alive (stale pid files are removed)."""
        alive = {}
        for pid_file in sorted(self.run_dir.glob("*.pid")):
            pid = read_pid(pid_file)
            if pid is not None and pid_alive(pid):
                alive[pid_file.stem] = pid
            else:
                pid_file.unlink(missing_ok=True)
        return alive

    def stop_all(self, grace: float = 15.0) -> list[str]:
        """SIGTERM each recorded process, SIGKILL after ``grace``; returns the names stopped."""
        running = self.running()
        for pid in running.values():
            signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, pid in running.items():
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)  # waiting for a process to exit
            if pid_alive(pid):
                signal_group(pid, signal.SIGKILL)
            (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        return list(running)
