"""The Grafana dashboards: built from code, well-formed, and querying metrics that exist."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from ruamel.yaml import YAML

from cxpulse.alerts.router_metrics import RouterMetrics
from cxpulse.dashboards import DATASOURCE_UID, build_all
from cxpulse.processors.worker.faustapp.collector import FaustCollector
from cxpulse.processors.worker.metrics import WorkerMetrics, worker_registry

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
RULES = ROOT / "deploy" / "prometheus" / "rules"
PANEL_TYPES = {"row", "stat", "timeseries", "bargauge", "table"}
VARIABLES = {"datasource", "job", "instance", "service_type", "runbooks", "__rate_interval"}
RUNBOOKS = ROOT / "docs" / "runbooks.md"


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def _known_metrics() -> set[str]:
    registry = worker_registry()
    WorkerMetrics(registry, ["billing"], lambda score: "healthy")
    RouterMetrics(router := CollectorRegistry())
    names = set()
    for reg in (registry, router):
        for family in reg.collect():
            names |= {sample.name for sample in family.samples} | {family.name}
            if family.type == "counter":
                names.add(f"{family.name}_total")  # a counter without samples yet
    for family in FaustCollector(object(), lambda: []).describe():
        names |= {family.name, f"{family.name}_total"}
    for path in RULES.glob("*.yml"):
        for group in YAML(typ="safe").load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names | {"up", "ALERTS"}


def test_committed_dashboards_are_what_the_code_builds():
    built = build_all()
    committed = {path.name: path.read_text(encoding="utf-8") for path in (GRAFANA / "dashboards").glob("*.json")}

    assert committed == built, "run: python -m cxpulse.dashboards"


def test_two_dashboards_with_stable_uids():
    uids = {name: board["uid"] for name, board in _dashboards().items()}

    assert uids == {"operations.json": "cxpulse-operations", "customer-experience.json": "cxpulse-experience"}


@pytest.mark.parametrize("name", ["operations.json", "customer-experience.json"])
def test_panels_are_well_formed(name):
    board = _dashboards()[name]
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert panel["targets"] and len(refs) == len(set(refs)), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


@pytest.mark.parametrize("name", ["operations.json", "customer-experience.json"])
def test_queries_use_known_metrics_and_variables(name):
    board = _dashboards()[name]
    known = _known_metrics()
    declared = {v["name"] for v in board["templating"]["list"]} | {"__rate_interval"}
    assert declared <= VARIABLES
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for metric in re.findall(r"\b(?:cxpulse_\w+|\w+:cxpulse_\w+:\w+)\b", expr):
                assert metric in known, f"{panel['title']}: unknown metric {metric}"
            for variable in re.findall(r"\$(\w+)", expr):
                assert variable in declared, f"{panel['title']}: undeclared ${variable}"
            assert "customer_id" not in expr


def test_datasource_variable_defaults_to_the_provisioned_datasource():
    provisioned = YAML(typ="safe").load((GRAFANA / "provisioning" / "datasources" / "cxpulse.yml").read_text())
    prometheus = next(d for d in provisioned["datasources"] if d["type"] == "prometheus")

    assert prometheus["uid"] == DATASOURCE_UID
    for board in _dashboards().values():
        variable = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == DATASOURCE_UID


def test_dashboard_provider_points_where_compose_mounts_the_json():
    provider = YAML(typ="safe").load((GRAFANA / "provisioning" / "dashboards" / "cxpulse.yml").read_text())
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]

    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts


def _anchors(markdown: str) -> set[str]:
    """GitHub-style anchors of the Markdown headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


def test_the_dashboards_are_built_with_grafanas_sdk():
    import inspect

    import cxpulse.dashboards as module

    source = inspect.getsource(module)
    assert "from grafana_foundation_sdk.builders import" in source
    assert '"type": "timeseries"' not in source  # no hand-written panel JSON


@pytest.mark.parametrize("name", ["operations.json", "customer-experience.json"])
def test_every_panel_says_what_it_shows(name):
    for panel in _dashboards()[name]["panels"]:
        if panel["type"] != "row":
            assert len(panel.get("description", "")) > 20, panel["title"]


@pytest.mark.parametrize("name", ["operations.json", "customer-experience.json"])
def test_no_query_names_a_job(name):
    for panel in _dashboards()[name]["panels"]:
        for target in panel.get("targets", []):
            assert not re.search(r'job\s*=~?\s*"(?!\$job")', target["expr"]), f"{panel['title']}: {target['expr']}"


def test_panels_of_alerts_link_their_runbook_and_draw_thresholds():
    anchors = _anchors(RUNBOOKS.read_text(encoding="utf-8"))
    linked = set()
    for board in _dashboards().values():
        for panel in board["panels"]:
            for link in panel.get("links", []):
                assert link["url"].startswith("${runbooks}#"), panel["title"]
                anchor = link["url"].split("#", 1)[1]
                assert anchor in anchors, f"{panel['title']}: no section #{anchor} in docs/runbooks.md"
                linked.add(anchor)
    assert len(linked) >= 6
    operations = {p["title"]: p for p in _dashboards()["operations.json"]["panels"]}
    latency = operations["Processing latency (Kafka write to outputs delivered)"]
    assert {"color": "red", "value": 30} in latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert latency["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"


def test_each_dashboard_marks_alerts_and_links_the_runbooks():
    for board in _dashboards().values():
        annotations = board["annotations"]["list"]
        assert annotations and all(a["expr"] and a["enable"] for a in annotations)
        assert any(link.get("url") == "${runbooks}" for link in board["links"])
        runbooks = next(v for v in board["templating"]["list"] if v["name"] == "runbooks")
        assert runbooks["type"] == "textbox" and runbooks["query"] == "docs/runbooks.md"


def test_every_pipeline_alert_has_a_runbook_section():
    anchors = _anchors(RUNBOOKS.read_text(encoding="utf-8"))
    rules = YAML(typ="safe").load((RULES / "cxpulse-alerts.yml").read_text())["groups"]
    for group in rules:
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            assert url == f"docs/runbooks.md#{rule['alert'].lower()}", rule["alert"]
            assert rule["alert"].lower() in anchors, f"docs/runbooks.md has no section for {rule['alert']}"
