"""cxpulse ops: configs rendered into a run directory, servers' command lines (no process started)."""

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from cxpulse.alerts.ops import OpsStack
from cxpulse.alerts.ops_render import find_deploy_dir
from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings


def _settings(tmp_path: Path, **sections) -> Settings:
    base = {"ops": {"data_dir": str(tmp_path / "ops"), "prometheus_port": 19090, "sink_port": 19099},
            "alerts": {"alertmanager_url": "http://127.0.0.1:19093", "metrics_port": 19101},
            "worker": {"web_port": 16066}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return Settings(**base)


def _yaml(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_prometheus_config_gets_the_ports_in_use(tmp_path):
    stack = OpsStack.from_settings(_settings(tmp_path, ops={"scrape_interval_seconds": 5}), worker_ports=[16066, 16067])
    config = stack.prepare()["prometheus"]
    run = config.parent

    assert _yaml(run / "targets" / "workers.yml") == [{"targets": ["127.0.0.1:16066", "127.0.0.1:16067"]}]
    assert _yaml(run / "targets" / "router.yml") == [{"targets": ["127.0.0.1:19101"]}]
    assert _yaml(run / "targets" / "alertmanager.yml") == [{"targets": ["127.0.0.1:19093"]}]
    assert _yaml(run / "targets" / "gateway.yml") == []
    assert _yaml(config)["global"]["scrape_interval"] == "5s"
    assert _yaml(config)["global"]["evaluation_interval"] == "5s"
    assert sorted(p.name for p in (run / "rules").glob("*.yml")) == ["cxpulse-alerts.yml", "cxpulse-recording.yml"]


def test_configured_worker_targets_win(tmp_path):
    stack = OpsStack.from_settings(_settings(tmp_path, ops={"worker_targets": ["w1:6066"]}), worker_ports=[1])

    assert stack.targets["workers"] == ["w1:6066"]


def test_alertmanager_webhooks_point_at_the_sink(tmp_path):
    config = OpsStack.from_settings(_settings(tmp_path)).prepare()["alertmanager"]
    urls = [hook["url"] for receiver in _yaml(config)["receivers"] for hook in receiver["webhook_configs"]]

    assert urls and all(url.startswith("http://127.0.0.1:19099/") for url in urls)


def test_commands_listen_where_the_settings_say(tmp_path):
    commands = OpsStack.from_settings(_settings(tmp_path)).commands()

    assert list(commands) == ["alert-sink", "alertmanager", "prometheus"]
    assert "--web.listen-address=127.0.0.1:19093" in commands["alertmanager"]
    assert "--cluster.listen-address=" in commands["alertmanager"]  # no gossip port
    assert "--web.listen-address=127.0.0.1:19090" in commands["prometheus"]
    assert commands["alert-sink"][-4:] == ["--host", "127.0.0.1", "--port", "19099"]


def test_no_sink_when_its_port_is_zero(tmp_path):
    stack = OpsStack.from_settings(_settings(tmp_path, ops={"sink_port": 0}))

    assert "alert-sink" not in stack.commands() and "webhook sink" not in stack.urls


def test_a_remote_alertmanager_is_refused(tmp_path):
    with pytest.raises(CxpulseError, match="not on this machine"):
        OpsStack.from_settings(_settings(tmp_path, alerts={"alertmanager_url": "http://am.example:9093"}))


def test_deploy_dir_is_found_and_a_wrong_one_is_a_clear_error(tmp_path):
    assert (find_deploy_dir() / "alertmanager" / "alertmanager.yml").is_file()
    with pytest.raises(CxpulseError, match="set ops.deploy_dir"):
        find_deploy_dir(str(tmp_path))
