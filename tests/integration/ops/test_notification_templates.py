"""Alertmanager's notification templates (deploy/alertmanager/templates), rendered by ``amtool template render``.

The data is what Alertmanager hands a receiver: customer alerts exactly as the router
sends them (``alert_payload``), a pipeline alert with the annotations of its rule.
"""

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from cxpulse.alerts.payload import alert_payload
from cxpulse.schemas.outputs import Alert

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "deploy" / "alertmanager" / "templates" / "cxpulse.tmpl"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "cxpulse-alerts.yml"
NOW = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)


def _customer_alert(status: str = "firing", summary: str | None = None) -> dict:
    alert = Alert(alert_id="cxa-75c88d50a0661f8ee4b273ac", rule="repeat_contact", severity="critical", status=status,
                  customer_id="C-1042", service_type="billing", segment="vip", score=41.5, risk_band="at_risk",
                  triggered_at=NOW, emitted_at=NOW,
                  summary=summary or "C-1042 contacted billing 5 times within 72 h (score 41.5, at_risk)",
                  evidence=["e-1", "e-2", "e-3", "e-4", "e-5"])
    payload = alert_payload(alert, NOW, 4 * 3600, "http://127.0.0.1:6066/customers/{customer_id}")
    return {"status": status, **payload, "fingerprint": "1"}


def _pipeline_alert() -> dict:
    rules = YAML(typ="safe").load(RULES.read_text(encoding="utf-8"))["groups"][0]["rules"]
    rule = next(r for r in rules if r["alert"] == "CxpulseConsumerLagGrowing")
    annotations = {k: v.replace("{{ $labels.topic }}", "cx.events").replace("{{ $value | humanize }}", "2.5k")
                   for k, v in rule["annotations"].items()}
    return {"status": "firing", "labels": {"alertname": rule["alert"], **rule["labels"], "topic": "cx.events"},
            "annotations": annotations, "startsAt": "2026-01-15T18:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "", "fingerprint": "2"}


def _data(alerts: list[dict], group: dict[str, str]) -> dict:
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)}
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"receiver": "pager", "status": status, "alerts": alerts, "groupLabels": group, "commonLabels": common,
            "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093"}


def render(amtool: str, tmp_path: Path, template: str, data: dict, kind: str = "text") -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = subprocess.run([amtool, "template", "render", f"--template.glob={TEMPLATES}", f"--template.type={kind}",
                           f'--template.text={{{{ template "{template}" . }}}}', f"--template.data={path}"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


CUSTOMER_GROUP = {"alertname": "repeat_contact", "service_type": "billing"}


def test_slack_for_customer_alerts(ops_tools, tmp_path):
    data = _data([_customer_alert()], CUSTOMER_GROUP)

    title = render(ops_tools["amtool"], tmp_path, "cxpulse.slack.title", data)
    text = render(ops_tools["amtool"], tmp_path, "cxpulse.slack.text", data)
    color = render(ops_tools["amtool"], tmp_path, "cxpulse.slack.color", data)

    assert title == "[FIRING:1] repeat_contact on billing (critical)"
    assert "*C-1042 contacted billing 5 times within 72 h (score 41.5, at_risk)*" in text
    assert "Customer `C-1042` (vip) · score 41.5 (at_risk)" in text
    assert "<http://127.0.0.1:6066/customers/C-1042|Customer timeline>" in text
    assert color == "danger"


def test_slack_for_a_pipeline_alert_links_its_runbook(ops_tools, tmp_path):
    data = _data([_pipeline_alert()], {"alertname": "CxpulseConsumerLagGrowing"})

    text = render(ops_tools["amtool"], tmp_path, "cxpulse.slack.text", data)

    assert "*Consumer lag on cx.events keeps growing (2.5k records)*" in text
    assert "The workers read cx.events slower than it is written" in text
    assert "<docs/runbooks.md#cxpulseconsumerlaggrowing|Runbook>" in text
    assert render(ops_tools["amtool"], tmp_path, "cxpulse.slack.color", data) == "warning"


def test_resolved_alerts_say_so(ops_tools, tmp_path):
    data = _data([_customer_alert("resolved")], CUSTOMER_GROUP)

    assert render(ops_tools["amtool"], tmp_path, "cxpulse.slack.title", data).startswith("[RESOLVED]")
    assert render(ops_tools["amtool"], tmp_path, "cxpulse.slack.color", data) == "good"
    assert "RESOLVED C-1042 contacted billing" in render(ops_tools["amtool"], tmp_path, "cxpulse.text", data)


def test_email_subject_text_and_html(ops_tools, tmp_path):
    data = _data([_customer_alert(), _pipeline_alert()], {"alertname": "mixed"})

    subject = render(ops_tools["amtool"], tmp_path, "cxpulse.email.subject", data)
    text = render(ops_tools["amtool"], tmp_path, "cxpulse.email.text", data)
    html = render(ops_tools["amtool"], tmp_path, "cxpulse.email.html", data, kind="html")

    assert subject == "[FIRING:2] mixed"
    assert "timeline: http://127.0.0.1:6066/customers/C-1042" in text
    assert "runbook: docs/runbooks.md#cxpulseconsumerlaggrowing" in text
    assert '<a href="http://127.0.0.1:6066/customers/C-1042">timeline</a>' in html
    assert '<a href="docs/runbooks.md#cxpulseconsumerlaggrowing">runbook</a>' in html
    assert html.count("<tr>") == 2 + 1  # header and one row per alert


def test_html_escapes_what_customers_wrote(ops_tools, tmp_path):
    data = _data([_customer_alert(summary="C-1042 wrote <script>alert(1)</script>")], CUSTOMER_GROUP)

    html = render(ops_tools["amtool"], tmp_path, "cxpulse.email.html", data, kind="html")

    assert "<script>" not in html and "&lt;script&gt;" in html


def test_an_unknown_template_name_fails(ops_tools, tmp_path):
    with pytest.raises(AssertionError, match="not defined"):
        render(ops_tools["amtool"], tmp_path, "cxpulse.pager.text", _data([_customer_alert()], CUSTOMER_GROUP))


def test_the_config_loads_the_templates(ops_tools):
    done = subprocess.run([ops_tools["amtool"], "check-config", str(ROOT / "deploy/alertmanager/alertmanager.yml")],
                          check=False, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 templates" in done.stdout
