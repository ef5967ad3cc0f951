"""What the local broker needs on disk: Java, the Kafka jars, its config and KRaft storage.

The jars are resolved once per Kafka version with Maven from ``deploy/kafka/pom.xml``
into ``<cache_dir>/<version>/libs`` (outside the repository). Everything the broker
writes (config, logs, data, pid) lives in ``data_dir``.
"""

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from cxpulse.errors import BrokerError
from cxpulse.settings import BrokerSettings

__all__ = [
    "JAVA_MIN_MAJOR",
    "POM",
    "find_java",
    "format_storage",
    "jars_cached",
    "libs_dir",
    "resolve_jars",
    "storage_formatted",
    "write_config",
]

JAVA_MIN_MAJOR = 17
POM = Path(__file__).resolve().parents[1] / "deploy" / "kafka" / "pom.xml"
_COMPLETE = ".complete"

LOG4J2 = """\
# Written by cxpulse on every start; edit BrokerSettings, not this file.
status = warn
# Kafka logs its own shutdown; log4j must not close the file before that.
shutdownHook = disable
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {logs}/server.log
appender.file.filePattern = {logs}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""


def find_java() -> Path:
    """The ``java`` to run the broker with ($JAVA_HOME first); must be 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        raise BrokerError(f"java not found: install Java {JAVA_MIN_MAJOR}+ (e.g. apt-get install openjdk-17-jre-headless)")
    major = _java_major(java)
    if major < JAVA_MIN_MAJOR:
        raise BrokerError(f"{java} is Java {major}; Apache Kafka 4 needs Java {JAVA_MIN_MAJOR}+")
    return Path(java)


def _java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise BrokerError(f"cannot tell the version of {java}: {out.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def libs_dir(settings: BrokerSettings) -> Path:
    """Where the jars of ``settings.kafka_version`` live."""
    return settings.cache_dir / settings.kafka_version / "libs"


def jars_cached(settings: BrokerSettings) -> bool:
    """True when a previous resolution of this Kafka version completed."""
    return (libs_dir(settings) / _COMPLETE).is_file()


def resolve_jars(settings: BrokerSettings) -> bool:
    """Make sure the broker's jars are in the cache; return True when Maven had to run.

    Safe to call from several processes at once: a file lock serialises resolution
    and the jars appear in their final place only when complete.
    """
    if jars_cached(settings):
        return False
    target = libs_dir(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / "resolve.lock"):
        if jars_cached(settings):
            return False
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=target.parent))
        try:
            _run_maven(settings.kafka_version, staging)
            (staging / _COMPLETE).write_text(settings.kafka_version + "\n")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_maven(version: str, out: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("mvn not found: Maven resolves the Kafka jars once (e.g. apt-get install maven)")
    if not POM.is_file():
        raise BrokerError(f"{POM} is missing: run cxpulse kafka from a source checkout")
    command = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={out}", "-DincludeScope=runtime", f"-Dkafka.version={version}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BrokerError(f"Maven could not resolve Apache Kafka {version}: {_maven_cause(done.stdout + done.stderr)}")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _maven_cause(output: str) -> str:
    """The first real ``[ERROR]`` line of Maven's output, without its boilerplate."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    errors = [line for line in errors if line and not line.startswith(("[Help", "To see", "Re-run", "For more"))]
    cause = errors[0] if errors else next((line for line in reversed(lines) if line), "no output")
    cause = cause.split(" -> [Help")[0]
    return cause.split(": ", 1)[1] if cause.startswith("Failed to execute goal") and ": " in cause else cause


def server_properties(settings: BrokerSettings, data_dir: Path, overrides: Mapping[str, str] | None = None) -> str:
    """The broker's ``server.properties``: one KRaft node that is broker and controller.

    ``overrides`` replace or add entries (``cxpulse.broker_security`` makes the listener SASL_SSL).
    """
    host, port, cport = settings.host, settings.port, settings.controller_port
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir / "kraft"),
        "num.partitions": "1",
        "num.network.threads": "2",
        "num.io.threads": "4",
        # One node: internal topics cannot have more replicas than that.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Consumers join at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
    }
    lines.update(overrides or {})
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def write_config(
    settings: BrokerSettings, data_dir: Path, overrides: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """Write ``server.properties`` (mode 0600: it may hold a password) and ``log4j2.properties``."""
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    server = data_dir / "server.properties"
    server.touch(mode=0o600)
    server.chmod(0o600)
    server.write_text(server_properties(settings, data_dir, overrides))
    log4j = data_dir / "log4j2.properties"
    log4j.write_text(LOG4J2.format(logs=data_dir / "logs"))
    return server, log4j


def storage_formatted(server: Path) -> bool:
    """True when the KRaft storage named by ``server.properties`` was formatted."""
    return (Path(_log_dirs(server)) / "meta.properties").is_file()


def format_storage(java: Path, settings: BrokerSettings, server: Path, extra_args: Sequence[str] = ()) -> bool:
    """Format KRaft storage on first start; return True when it was formatted now.

    ``extra_args`` go to ``StorageTool format`` (e.g. ``--add-scram`` users).
    """
    if storage_formatted(server):
        return False
    tool = [str(java), "-Xmx256m", "-cp", f"{libs_dir(settings)}/*"]
    uuid = _run_tool([*tool, "kafka.tools.StorageTool", "random-uuid"]).strip()
    arguments = ["kafka.tools.StorageTool", "format", "-t", uuid, "-c", str(server), "--ignore-formatted", *extra_args]
    # The arguments carry SCRAM passwords: in a private argument file (java @file), never on the
    # command line, which every local user can read (ps, /proc/<pid>/cmdline).
    with _argument_file(server.parent, arguments) as argfile:
        _run_tool([*tool, f"@{argfile}"])
    return True


@contextmanager
def _argument_file(directory: Path, arguments: Sequence[str]) -> Iterator[Path]:
    """A java ``@argfile`` (mode 0600) holding ``arguments``, deleted afterwards."""
    fd, name = tempfile.mkstemp(prefix=".args.", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(_quoted(argument) + "\n" for argument in arguments))
        yield path
    finally:
        path.unlink(missing_ok=True)


def _quoted(argument: str) -> str:
    # The launcher's argument-file syntax: a double-quoted token, backslash escapes its quote and itself.
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _log_dirs(server: Path) -> str:
    for line in server.read_text().splitlines():
        if line.startswith("log.dirs="):
            return line.split("=", 1)[1]
    raise BrokerError(f"{server} has no log.dirs")


def _run_tool(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise BrokerError(f"formatting Kafka storage failed: {lines[-1] if lines else 'exit ' + str(done.returncode)}")
    return done.stdout
