"""``cxpulse kafka`` and ``cxpulse topics`` as a user runs them: real processes, a real broker."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cxpulse.broker import port_in_use
from cxpulse.settings import load_settings
from cxpulse.topics import list_topics

from ..conftest import _free_port

CLI = [sys.executable, "-c", "from cxpulse.cli import main; main()"]


def cxpulse(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def rig_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI-driven broker of its own: free ports, a temporary data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXPULSE_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    port = _free_port()
    env.update(
        CXPULSE_BROKER__PORT=str(port),
        CXPULSE_BROKER__CONTROLLER_PORT=str(_free_port()),
        CXPULSE_BROKER__DATA_DIR=str(tmp_path / "kafka"),
        CXPULSE_BROKER__CACHE_DIR=str(load_settings().broker.cache_dir),
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
    )
    yield env
    cxpulse("kafka", "down", env=env)  # never leave a broker behind, even when the test failed


def test_up_status_produce_consume_down(rig_env, tmp_path):
    port = int(rig_env["CXPULSE_BROKER__PORT"])

    up = cxpulse("kafka", "up", env=rig_env)
    assert up.returncode == 0, up.stderr
    assert f"127.0.0.1:{port}" in up.stdout and "started in" in up.stdout

    status = cxpulse("kafka", "status", env=rig_env)
    assert status.returncode == 0, status.stderr
    assert "running" in status.stdout

    again = cxpulse("kafka", "up", env=rig_env)
    assert again.returncode == 0 and "already running" in again.stdout

    _round_trip(rig_env["KAFKA_BOOTSTRAP_SERVERS"])

    pid = int((tmp_path / "kafka" / "broker.pid").read_text())
    down = cxpulse("kafka", "down", env=rig_env)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not _process_exists(pid)
    assert not port_in_use("127.0.0.1", port)
    assert not (tmp_path / "kafka" / "broker.pid").exists()

    assert cxpulse("kafka", "down", env=rig_env).returncode == 0  # idempotent
    stopped = cxpulse("kafka", "status", env=rig_env)
    assert stopped.returncode == 1 and "not running" in stopped.stderr


def _round_trip(bootstrap: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = f"rig-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, key=b"c1", value=b"hello").get(timeout=60)  # auto-created topic
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=30000)
    try:
        first = next(iter(consumer))
    finally:
        consumer.close()
    assert (first.key, first.value) == (b"c1", b"hello")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").is_file() and Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def test_up_refuses_a_port_in_use(rig_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rig_env["CXPULSE_BROKER__PORT"] = str(port)

        up = cxpulse("kafka", "up", env=rig_env)

    assert up.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in up.stderr
    assert len(up.stderr.strip().splitlines()) <= 2 and "Traceback" not in up.stderr


def test_down_removes_a_stale_pid_file(rig_env, tmp_path):
    data = tmp_path / "kafka"
    data.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (data / "broker.pid").write_text(f"{dead.pid}\n")

    status = cxpulse("kafka", "status", env=rig_env)
    down = cxpulse("kafka", "down", env=rig_env)

    assert status.returncode == 1 and "stale pid file" in status.stderr
    assert down.returncode == 0 and "stale pid file" in down.stdout
    assert not (data / "broker.pid").exists()


def test_topics_create_is_idempotent(kafka_bootstrap, kafka_settings):
    run = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXPULSE_")}
    names = {"EVENTS": f"cx-{run}.events", "ALERTS": f"cx-{run}.alerts", "SCORES": f"cx-{run}.scores", "DLQ": f"cx-{run}.events.dlq",
             "WARNINGS": f"cx-{run}.agent-warnings"}
    env.update({f"CXPULSE_TOPICS__{key}": name for key, name in names.items()})
    env.update(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, CXPULSE_TOPICS__PARTITIONS="4")

    first = cxpulse("topics", "create", env=env)
    second = cxpulse("topics", "create", env=env)
    listed = cxpulse("topics", "list", env=env)

    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created ") == len(names)
    assert second.returncode == 0 and second.stdout.count("exists ") == len(names) and "warning" not in second.stderr
    topics = {info.name: info for info in list_topics(kafka_settings)}
    assert all(topics[name].partitions == 4 for name in names.values())
    assert topics[names["SCORES"]].cleanup_policy == "compact"
    assert {topics[name].cleanup_policy for name in names.values() if name != names["SCORES"]} == {"delete"}
    assert all(name in listed.stdout for name in names.values())

    other = cxpulse("topics", "create", "--partitions", "2", env=env)
    assert other.returncode == 0 and other.stderr.count("has 4 partitions, settings say 2") == len(names)


def test_topics_create_says_when_the_broker_is_unreachable():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXPULSE_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{_free_port()}"

    result = cxpulse("topics", "create", "--timeout", "2", env=env, timeout=120)

    assert result.returncode == 1
    assert result.stderr.startswith("cxpulse: error: cannot reach Kafka at 127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_a_broker_that_cannot_start_says_why(tmp_path):
    from cxpulse.broker import LocalBroker
    from cxpulse.errors import BrokerError

    settings = load_settings().broker.model_copy(
        update={"port": _free_port(), "controller_port": _free_port(), "data_dir": tmp_path / "kafka", "heap": "1k"}
    )
    broker = LocalBroker(settings)

    with pytest.raises(BrokerError) as caught:
        broker.start()

    assert "the broker exited during start-up" in str(caught.value)
    assert "heap" in str(caught.value).lower()
    assert not broker.pid_file.exists() and not broker.status().running


def test_a_broker_started_for_a_session_dies_with_it(tmp_path, wait_for):
    # A "session" process starts a broker tied to itself, then is killed without cleanup.
    data = tmp_path / "kafka"
    script = (
        "import os, sys\nfrom pathlib import Path\n"
        "from cxpulse.broker import LocalBroker\n"
        "from cxpulse.settings import load_settings\n"
        "s = load_settings().broker.model_copy(update={'port': int(sys.argv[1]), 'controller_port': int(sys.argv[2]),"
        " 'data_dir': Path(sys.argv[3])})\n"
        "print(LocalBroker(s).start(stop_with=os.getpid()).pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    session = subprocess.Popen(
        [sys.executable, "-c", script, str(_free_port()), str(_free_port()), str(data)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        broker_pid = int(session.stdout.readline())
        assert _process_exists(broker_pid)

        session.send_signal(signal.SIGKILL)
        session.wait()

        wait_for(lambda: not _process_exists(broker_pid), timeout=60, message="broker gone after its session died")
    finally:
        session.kill()
        pid_file = data / "broker.pid"
        if pid_file.exists() and _process_exists(int(pid_file.read_text())):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
