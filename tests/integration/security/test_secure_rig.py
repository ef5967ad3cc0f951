"""``cxpulse kafka up --secure`` from the command line: usable client settings, and it stays secured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxpulse.broker import broker_answers
from cxpulse.settings import KafkaSettings

from ...conftest import _free_port


@pytest.fixture
def rig(tmp_path):
    """``rig(*argv) -> CompletedProcess``: cxpulse with its own broker data dir and ports; down at the end."""
    port = _free_port()
    env = {**os.environ, "CXPULSE_BROKER__DATA_DIR": str(tmp_path / "kafka"), "CXPULSE_BROKER__PORT": str(port),
           "CXPULSE_BROKER__CONTROLLER_PORT": str(_free_port())}  # fmt: skip
    env.pop("CXPULSE_CONFIG", None)
    script = Path(sys.executable).with_name("cxpulse")

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *argv], env=env, capture_output=True, text=True, timeout=240)

    run.port = port
    run.data_dir = tmp_path / "kafka"
    yield run
    run("kafka", "down")


def test_up_secure_writes_client_settings_that_get_in_and_a_plain_restart_stays_secured(rig):
    up = rig("kafka", "up", "--secure")
    assert up.returncode == 0, up.stderr
    client_config = rig.data_dir / "security" / "kafka-client.toml"
    assert "kafka-client.toml" in up.stdout and client_config.is_file()
    assert oct(client_config.stat().st_mode & 0o777) == "0o600"

    created = rig("--config", str(client_config), "topics", "create")
    assert created.returncode == 0, created.stderr
    assert rig("kafka", "status").returncode == 0
    assert not broker_answers(f"127.0.0.1:{rig.port}", 5.0, KafkaSettings(bootstrap_servers=f"127.0.0.1:{rig.port}"))

    assert rig("kafka", "down").returncode == 0
    again = rig("kafka", "up")  # no --secure: the data directory keeps its users and TLS
    assert again.returncode == 0, again.stderr
    assert not broker_answers(f"127.0.0.1:{rig.port}", 5.0, KafkaSettings(bootstrap_servers=f"127.0.0.1:{rig.port}"))
    listed = rig("--config", str(client_config), "topics", "list")
    assert listed.returncode == 0 and "cx.events" in listed.stdout


def test_securing_a_plain_data_directory_is_refused_with_a_hint(rig):
    assert rig("kafka", "up").returncode == 0
    assert rig("kafka", "down").returncode == 0

    refused = rig("kafka", "up", "--secure")

    assert refused.returncode == 1
    assert "formatted without --secure" in refused.stderr and "--wipe" in refused.stderr
    assert refused.stderr.count("\n") <= 2  # one line, no traceback
