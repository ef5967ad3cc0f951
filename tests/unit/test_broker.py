"""The local broker's pure parts and its refusals, without starting a JVM."""

import os
import socket
import stat
from pathlib import Path

import pytest

from cxpulse.broker import LocalBroker, _failure_cause, port_in_use
from cxpulse.broker_files import _maven_cause, find_java, resolve_jars, server_properties
from cxpulse.errors import BrokerError
from cxpulse.settings import BrokerSettings


def _settings(tmp_path: Path, **changes) -> BrokerSettings:
    return BrokerSettings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **changes)


def test_server_properties_describe_one_kraft_node(tmp_path):
    text = server_properties(_settings(tmp_path, port=19092, controller_port=19094), tmp_path / "data")
    props = dict(line.split("=", 1) for line in text.splitlines())

    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19094"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19094"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "data" / "kraft")
    assert props["offsets.topic.replication.factor"] == "1"


def test_failure_cause_prefers_the_exception_line(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        "[2024] INFO starting (kafka.Kafka)\n"
        "[2024] ERROR Exiting Kafka due to fatal exception during startup. (kafka.Kafka$)\n"
        "org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:9092: Address already in use.\n"
        "\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:700)\n"
        "[2024] INFO shutting down (kafka.Kafka)\n"
    )

    cause = _failure_cause([tmp_path / "missing.out", log])

    assert cause.startswith("org.apache.kafka.common.KafkaException: Socket server failed to bind")


def test_failure_cause_without_logs(tmp_path):
    assert _failure_cause([tmp_path / "none.log"]) == "no log output"


def test_maven_cause_is_the_first_real_error():
    output = (
        "\x1b[0m\x1b[0m[ERROR] Failed to execute goal on project rig: Could not resolve dependencies for project x: "
        "org.apache.kafka:kafka_2.13:jar:9.9 was not found -> [Help 1]\n[ERROR] \n"
        "[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.\n"
    )

    assert _maven_cause(output) == "Could not resolve dependencies for project x: org.apache.kafka:kafka_2.13:jar:9.9 was not found"


def test_java_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(BrokerError, match="java not found: install Java 17"):
        find_java()


def test_old_java_is_refused(tmp_path, monkeypatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.21" 2023-10-17\' >&2\n')
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))

    with pytest.raises(BrokerError, match="is Java 11; Apache Kafka 4 needs Java 17"):
        find_java()


def test_maven_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(BrokerError, match="mvn not found"):
        resolve_jars(_settings(tmp_path))


def test_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)


def test_stale_pid_file_is_reported_and_removed(tmp_path):
    broker = LocalBroker(_settings(tmp_path))
    broker.data_dir.mkdir(parents=True)
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    broker.pid_file.write_text(f"{gone}\n")

    assert broker.status().stale_pid == gone
    assert broker.stop() is False
    assert not broker.pid_file.exists()


def test_a_reused_pid_is_never_signalled(tmp_path):
    # The pid file names a live process that is not this broker (e.g. the pid was reused).
    broker = LocalBroker(_settings(tmp_path))
    broker.data_dir.mkdir(parents=True)
    broker.pid_file.write_text(f"{os.getpid()}\n")

    assert not broker.status().running
    assert broker.stop() is False  # and this test process is still alive to assert it


def test_wipe_deletes_the_data_directory(tmp_path):
    broker = LocalBroker(_settings(tmp_path))
    (broker.data_dir / "kraft").mkdir(parents=True)

    broker.wipe()

    assert not broker.data_dir.exists()


def test_failure_cause_ignores_earlier_runs(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("old.Thing.SomeException: from last week\n")
    offset = log.stat().st_size
    with log.open("a") as handle:
        handle.write("[2024] ERROR this run failed (kafka.Kafka$)\n")

    assert _failure_cause([log], since={log: offset}) == "[2024] ERROR this run failed (kafka.Kafka$)"


def test_scram_passwords_reach_the_storage_tool_in_a_private_file_not_on_its_command_line(tmp_path, monkeypatch):
    import cxpulse.broker_files as files

    server = tmp_path / "server.properties"
    server.write_text(f"log.dirs={tmp_path / 'kraft'}\n")
    calls: list[tuple[list[str], str | None, int | None]] = []

    def run_tool(command: list[str]) -> str:
        argfile = next((Path(arg[1:]) for arg in command if arg.startswith("@")), None)
        text = argfile.read_text() if argfile else None
        calls.append((command, text, stat.S_IMODE(argfile.stat().st_mode) if argfile else None))
        return "q1w2e3r4t5y6u7i8o9p0aa\n"

    monkeypatch.setattr(files, "_run_tool", run_tool)
    secret = "SCRAM-SHA-512=[name=cxpulse,password=s3cr3t-\"quoted\\-pw]"

    assert files.format_storage(Path("/usr/bin/java"), _settings(tmp_path), server, ["--add-scram", secret])

    (uuid_call, _, _), (format_call, argfile_text, mode) = calls
    assert "random-uuid" in uuid_call
    assert not [arg for arg in format_call if "s3cr3t" in arg]  # what `ps` would show
    assert mode == 0o600 and argfile_text is not None
    assert '"--add-scram"\n"SCRAM-SHA-512=[name=cxpulse,password=s3cr3t-\\"quoted\\\\-pw]"\n' in argfile_text
    assert '"kafka.tools.StorageTool"\n"format"\n' in argfile_text
    assert not list(tmp_path.glob(".args.*"))  # removed once the tool ran
