"""docker-compose.yml is a valid Compose file and runs the same broker as the local rig.

No Docker engine runs in CI, so the file is checked against the Compose specification
with check-jsonschema's vendored schema.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from cxpulse.settings import BrokerSettings, TopicSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def _check(path: Path) -> subprocess.CompletedProcess:
    executable = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"
    command = [executable, "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _load() -> dict:
    return YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_file_matches_the_compose_specification():
    result = _check(COMPOSE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_does_catch_a_broken_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace("    ports:\n", "    portz:\n", 1))

    assert _check(broken).returncode != 0


def test_broker_image_is_the_rig_version():
    assert _load()["services"]["kafka"]["image"] == f"apache/kafka:{BrokerSettings().kafka_version}"


def test_broker_listens_on_9092_on_the_host():
    assert "127.0.0.1:9092:9092" in _load()["services"]["kafka"]["ports"]


def test_topic_service_creates_the_five_topics():
    script = "\n".join(_load()["services"]["topics"]["command"])
    defaults = TopicSettings()

    for name in (defaults.events, defaults.alerts, defaults.scores, defaults.dlq, defaults.warnings):
        assert f"create {name}\n" in script or f"create {name} " in script
    assert "create cx.scores --config cleanup.policy=compact" in script
    assert _load()["services"]["topics"]["environment"]["PARTITIONS"] == str(defaults.partitions)


@pytest.mark.parametrize("service", ["topics"])
def test_one_shot_services_wait_for_a_healthy_broker(service):
    assert _load()["services"][service]["depends_on"]["kafka"]["condition"] == "service_healthy"
