"""The committed Prometheus and Alertmanager configs, checked by the servers' own tools.

promtool: config, rules, the alerting rules' unit tests (and that those tests can fail),
the worker's and router's metrics. amtool: the config, and the routing tree as a table
of label sets and the receivers they reach.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cxpulse.alerts.router_metrics import RouterMetrics

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def _run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=120)


def test_prometheus_config_is_valid(ops_tools):
    result = _run(ops_tools["promtool"], "check", "config", str(PROMETHEUS / "prometheus.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout


def test_rules_are_valid(ops_tools):
    result = _run(ops_tools["promtool"], "check", "rules", *map(str, sorted((PROMETHEUS / "rules").glob("*.yml"))))

    assert result.returncode == 0, result.stdout + result.stderr


def test_alerting_rules_pass_their_unit_tests(ops_tools):
    result = _run(ops_tools["promtool"], "test", "rules", str(PROMETHEUS / "tests" / "pipeline_alerts_test.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_a_changed_threshold(ops_tools, tmp_path):
    shutil.copytree(PROMETHEUS / "rules", tmp_path / "rules")
    shutil.copytree(PROMETHEUS / "tests", tmp_path / "tests")
    rules = tmp_path / "rules" / "cxpulse-alerts.yml"
    text = rules.read_text()
    assert "[5m]))) > 30\n" in text
    rules.write_text(text.replace("[5m]))) > 30\n", "[5m]))) > 300\n"))

    result = _run(ops_tools["promtool"], "test", "rules", str(tmp_path / "tests" / "pipeline_alerts_test.yml"))

    assert result.returncode != 0
    assert "CxpulseProcessingLatencyHigh" in result.stdout + result.stderr


def test_router_metrics_pass_promtool(ops_tools):
    registry = CollectorRegistry()
    RouterMetrics(registry).alerts.labels("delivered").inc(3)

    result = _run(ops_tools["promtool"], "check", "metrics", stdin=generate_latest(registry).decode())

    assert result.returncode == 0, result.stdout + result.stderr


def test_worker_metrics_after_a_scripted_batch_pass_promtool(ops_tools, worker_metrics_text):
    result = _run(ops_tools["promtool"], "check", "metrics", stdin=worker_metrics_text)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "cxpulse_alerts_total{" in worker_metrics_text  # the labelled families had samples


def test_alertmanager_config_is_valid(ops_tools):
    result = _run(ops_tools["amtool"], "check-config", str(ALERTMANAGER))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 inhibit rules" in result.stdout and "4 receivers" in result.stdout


@pytest.mark.parametrize(("labels", "receivers"), [
    ({"alertname": "repeat_contact", "severity": "warning", "segment": "standard", "service_type": "billing"}, ["team"]),
    ({"alertname": "repeat_contact", "severity": "critical", "segment": "standard", "service_type": "billing"},
     ["pager"]),
    ({"alertname": "detractor", "severity": "critical", "segment": "vip", "service_type": "billing"}, ["pager"]),
    ({"alertname": "sla_breach", "severity": "critical", "segment": "vulnerable", "service_type": "repair"},
     ["priority-lane", "pager"]),
    ({"alertname": "incident", "severity": "critical", "service_type": "outage"}, ["pager"]),
    ({"alertname": "CxpulseWorkerDown", "severity": "critical", "component": "pipeline"}, ["ops"]),
    ({"alertname": "CxpulseConsumerLagGrowing", "severity": "warning", "component": "pipeline"}, ["ops"]),
])
def test_routing_tree(ops_tools, labels, receivers):
    args = [f"{k}={v}" for k, v in labels.items()]
    result = _run(ops_tools["amtool"], "config", "routes", "test", f"--config.file={ALERTMANAGER}", *args)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().split(",") == receivers
