"""deploy/kubernetes: every resource valid for its Kubernetes schema, and consistent with the rest of cxpulse.

kubernetes-validate (the test extra) checks the Kubernetes kinds against the API's strict
JSON schemas offline; tests/integration/ops/test_kubernetes_manifests.py runs kubeconform
on every resource, the Prometheus Operator's kinds included.
"""

import copy
import functools
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from cxpulse.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
KUBE = ROOT / "deploy" / "kubernetes"
VERSION = "1.31.0"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


def _kustomization() -> dict:
    return YAML(typ="safe").load((KUBE / "kustomization.yaml").read_text(encoding="utf-8"))


@functools.cache
def _parsed() -> tuple[dict, ...]:
    found = []
    for name in _kustomization()["resources"]:
        found += [doc for doc in YAML(typ="safe").load_all((KUBE / name).read_text(encoding="utf-8")) if doc]
    return tuple(found)


def resources() -> list[dict]:
    return copy.deepcopy(list(_parsed()))


def _by(kind: str, name: str) -> dict:
    return copy.deepcopy(next(r for r in _parsed() if r["kind"] == kind and r["metadata"]["name"] == name))


def _pod_specs() -> list[tuple[str, dict]]:
    return [(r["metadata"]["name"], r["spec"]["template"]["spec"]) for r in _parsed()
            if r["kind"] in ("Deployment", "StatefulSet", "Job")]


def test_the_kustomization_lists_every_manifest():
    listed = set(_kustomization()["resources"])
    present = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}

    assert listed == present


@pytest.mark.parametrize("resource", [r for r in resources() if r["kind"] not in CRD_KINDS],
                         ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_each_kubernetes_resource_is_valid_for_its_schema(resource):
    kubernetes_validate.validate(resource, VERSION, strict=True)


def test_a_mistake_is_caught():
    broken = _by("StatefulSet", "cxpulse-worker")
    broken = {**broken, "spec": {**broken["spec"], "replica": 3}}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_config_map_holds_valid_settings(tmp_path, monkeypatch):
    from cxpulse.settings import load_settings

    for name in [n for n in __import__("os").environ if n.startswith(("CXPULSE_", "KAFKA_"))]:
        monkeypatch.delenv(name)
    text = _by("ConfigMap", "cxpulse-config")["data"]["cxpulse.toml"]
    path = tmp_path / "cxpulse.toml"
    path.write_text(text, encoding="utf-8")

    settings = load_settings(path)

    assert settings.worker.web_host == "0.0.0.0" and settings.alerts.metrics_host == "0.0.0.0"
    assert settings.gateway.host == "0.0.0.0"
    assert _by("StatefulSet", "cxpulse-worker")["spec"]["replicas"] <= settings.topics.partitions
    assert tomllib.loads(text)["worker"]["data_dir"] == "/var/lib/cxpulse/worker"


def test_ports_and_probes_are_the_ones_cxpulse_serves():
    defaults = Settings()
    ports = {"cxpulse-worker": defaults.worker.web_port, "cxpulse-router": defaults.alerts.metrics_port,
             "cxpulse-gateway": defaults.gateway.port}
    for name, port in ports.items():
        container = next(spec for pod, spec in _pod_specs() if pod == name)["containers"][0]
        assert [p["containerPort"] for p in container["ports"]] == [port], name
        service = _by("Service", name)
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert container["readinessProbe"] and container["livenessProbe"], name
    worker = next(spec for pod, spec in _pod_specs() if pod == "cxpulse-worker")["containers"][0]
    # Ready once its partitions are assigned and recovered (a rolling update waits); alive while it answers.
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_scrape_jobs_are_named_as_the_alerting_rules_expect():
    rules = (ROOT / "deploy" / "prometheus" / "rules" / "cxpulse-alerts.yml").read_text(encoding="utf-8")
    monitors = [r for r in resources() if r["kind"] == "ServiceMonitor"]
    for monitor in monitors:
        selected = monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        service = _by("Service", selected)  # the job label is the Service's name
        port_names = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names
        assert f'job="{service["metadata"]["name"]}"' in rules
    assert len(monitors) == 3


def test_every_pod_runs_unprivileged_on_the_cxpulse_image():
    for name, spec in _pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001, name
        for container in spec["containers"]:
            assert container["image"] == "cxpulse", name  # the kustomization sets the tag
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"], name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            env = {e["name"]: e for e in container["env"]}
            assert env["CXPULSE_CONFIG"]["value"] == "/etc/cxpulse/cxpulse.toml", name


def test_the_worker_is_a_statefulset_that_scales_in_one_rebalance():
    worker = _by("StatefulSet", "cxpulse-worker")

    assert worker["spec"]["podManagementPolicy"] == "Parallel"
    assert "volumeClaimTemplates" not in worker["spec"]  # state is rebuilt from the changelog
    assert _by("PodDisruptionBudget", "cxpulse-worker")["spec"]["maxUnavailable"] == 1
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def test_the_prometheus_rule_is_the_rule_files():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "prometheusrule.py"), "--check"],
                          check=False, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    rule = _by("PrometheusRule", "cxpulse")
    groups = {g["name"] for g in rule["spec"]["groups"]}
    assert groups == {"cxpulse-pipeline", "cxpulse-experience", "cxpulse-pipeline-alerts"}
