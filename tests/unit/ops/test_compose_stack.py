"""docker-compose.yml runs the whole stack, wired the way deploy/ expects (no Docker engine here:
the file is read, and checked against the Compose specification in tests/unit/test_docker_compose.py)."""

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from cxpulse.settings import AlertsSettings

ROOT = Path(__file__).resolve().parents[3]
CXPULSE_SERVICES = ("worker-1", "worker-2", "simulator", "alert-router", "alert-sink", "alert-console")


def _compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _targets(name: str) -> list[str]:
    groups = YAML(typ="safe").load((ROOT / "deploy" / "prometheus" / "compose-targets" / f"{name}.yml").read_text())
    return [target for group in groups or [] for target in group["targets"]]


def test_the_whole_stack_is_there():
    services = set(_compose()["services"])

    assert {"kafka", "topics", "worker-1", "worker-2", "simulator", "alert-router", "prometheus", "alertmanager",
            "grafana"} <= services


@pytest.mark.parametrize("service", CXPULSE_SERVICES)
def test_cxpulse_services_use_the_projects_image(service):
    config = _compose()["services"][service]

    assert config["image"] == "cxpulse:local" and config["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


@pytest.mark.parametrize("service", ["worker-1", "worker-2", "simulator", "alert-router"])
def test_pipeline_services_wait_for_the_topics_and_reach_the_broker_inside(service):
    config = _compose()["services"][service]

    assert config["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert config["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"


def test_prometheus_scrapes_both_workers_and_the_router_under_their_service_names():
    compose = _compose()["services"]
    workers = _targets("workers")

    assert workers == ["worker-1:6066", "worker-2:6066"]
    for target in workers:
        host = target.split(":")[0]
        assert compose[host]["hostname"] == host
        assert compose[host]["environment"]["CXPULSE_WORKER__WEB_HOST"] == host  # /metrics on that name
    assert _targets("router") == [f"alert-router:{AlertsSettings().metrics_port}"]
    assert compose["alert-router"]["environment"]["CXPULSE_ALERTS__METRICS_HOST"] == "0.0.0.0"
    assert _targets("alertmanager") == ["alertmanager:9093"]


def test_worker_ports_are_published_side_by_side():
    compose = _compose()["services"]

    assert compose["worker-1"]["ports"] == ["127.0.0.1:6066:6066"]
    assert compose["worker-2"]["ports"] == ["127.0.0.1:6067:6066"]


def test_router_delivers_to_the_alertmanager_service():
    compose = _compose()["services"]

    assert compose["alert-router"]["environment"]["CXPULSE_ALERTS__ALERTMANAGER_URL"] == "http://alertmanager:9093"
    assert compose["alert-router"]["depends_on"]["alertmanager"]["condition"] == "service_started"


def test_the_webhook_sink_listens_where_alertmanager_sends():
    compose = _compose()["services"]
    config = (ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text()

    assert compose["alert-sink"]["network_mode"] == "service:alertmanager"  # its 127.0.0.1 is Alertmanager's
    assert compose["alert-sink"]["command"][-4:] == ["--host", "127.0.0.1", "--port", "9099"]
    assert "url: http://127.0.0.1:9099/" in config


@pytest.mark.parametrize("service", ["prometheus", "alertmanager", "grafana"])
def test_mounted_configs_exist_in_the_repository(service):
    for volume in _compose()["services"][service]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{service} mounts {source}, which does not exist"


def test_prometheus_reads_the_compose_targets_and_the_rules():
    volumes = _compose()["services"]["prometheus"]["volumes"]

    assert "./deploy/prometheus/compose-targets:/etc/prometheus/targets:ro" in volumes
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in volumes
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes


def test_grafana_is_provisioned():
    volumes = _compose()["services"]["grafana"]["volumes"]

    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
