"""The two Grafana dashboards of cxpulse, built from code and written as provisioned JSON.

``python -m cxpulse.dashboards [DIR]`` writes ``operations.json`` and
``customer-experience.json`` (default DIR: ``deploy/grafana/dashboards``); a unit test
checks that the committed files are what this module builds, so edit here, not there.

Every panel queries Prometheus through the ``$datasource`` variable; worker panels can
be narrowed with ``$instance``, experience panels with ``$service_type``.
"""

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "DATASOURCE_UID", "build_all", "customer_experience", "operations", "write_all"]

DATASOURCE_UID = "cxpulse-prometheus"  # the provisioned datasource (deploy/grafana/provisioning)
_DS = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH = 24


def _target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict[str, Any]:
    target = {"datasource": _DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref, "range": not instant,
              "instant": instant}
    return target


def _targets(queries: Iterable[tuple[str, str]], instant: bool = False) -> list[dict[str, Any]]:
    return [_target(expr, legend, chr(ord("A") + i), instant) for i, (expr, legend) in enumerate(queries)]


def _panel(kind: str, title: str, queries: Iterable[tuple[str, str]], unit: str = "short", width: int = 12,
           height: int = 8, description: str = "", instant: bool = False, **options: Any) -> dict[str, Any]:
    panel = {
        "type": kind, "title": title, "description": description, "datasource": _DS,
        "targets": _targets(queries, instant),
        "fieldConfig": {"defaults": {"unit": unit, **options.pop("defaults", {})}, "overrides": []},
        "options": options.pop("panel_options", {}),
        "gridPos": {"w": width, "h": height},
    }
    panel.update(options)
    return panel


def timeseries(title: str, *queries: tuple[str, str], unit: str = "short", stack: bool = False,
               **kw: Any) -> dict[str, Any]:
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 8, "showPoints": "never",
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return _panel("timeseries", title, queries, unit, defaults={"custom": custom},
                  panel_options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                                 "tooltip": {"mode": "multi", "sort": "desc"}}, **kw)


def stat(title: str, expr: str, unit: str = "short", width: int = 6, height: int = 4, **kw: Any) -> dict[str, Any]:
    return _panel("stat", title, [(expr, "")], unit, width, height, instant=True,
                  panel_options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                                 "colorMode": "value", "graphMode": "none", "textMode": "auto"}, **kw)


def bargauge(title: str, *queries: tuple[str, str], unit: str = "short", **kw: Any) -> dict[str, Any]:
    return _panel("bargauge", title, queries, unit, instant=True,
                  panel_options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                                 "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
                  **kw)


def table(title: str, expr: str, columns: list[str], unit: str = "short", value_name: str = "value",
          **kw: Any) -> dict[str, Any]:
    """An instant query as a table with one row per series (``columns``: its labels, then Value)."""
    panel = _panel("table", title, [(expr, "")], unit, instant=True,
                   panel_options={"showHeader": True, "cellHeight": "sm"}, **kw)
    panel["targets"][0]["format"] = "table"
    panel["transformations"] = [{"id": "organize", "options": {
        "excludeByName": {"Time": True},
        "indexByName": {name: i for i, name in enumerate([*columns, "Value"])},
        "renameByName": {"Value": value_name},
    }}]
    return panel


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": _WIDTH, "h": 1}}


def _layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at the dashboard width; give each a unique id."""
    x = y = line_height = 0
    for number, panel in enumerate(panels, start=1):
        grid = panel["gridPos"]
        if panel["type"] == "row" or x + grid["w"] > _WIDTH:
            x, y, line_height = 0, y + line_height, 0
        grid.update(x=x, y=y)
        panel["id"] = number
        x += grid["w"]
        line_height = max(line_height, grid["h"])
        if panel["type"] == "row":
            x, y, line_height = 0, y + grid["h"], 0
    return panels


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {"type": "query", "name": name, "label": label, "datasource": _DS,
            "query": {"query": query, "refId": f"{name}-values"}, "definition": query, "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
            "sort": 1, "hide": 0}


def _dashboard(uid: str, title: str, description: str, panels: list[dict[str, Any]],
               variables: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    datasource = {"type": "datasource", "name": "datasource", "label": "Prometheus", "query": "prometheus",
                  "current": {"text": "Prometheus", "value": DATASOURCE_UID}, "hide": 0, "includeAll": False,
                  "multi": False}
    return {
        "uid": uid, "title": title, "description": description, "tags": ["cxpulse", *tags],
        "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1, "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"}, "timezone": "browser", "fiscalYearStartMonth": 0,
        "links": [{"title": "cxpulse dashboards", "type": "dashboards", "tags": ["cxpulse"], "asDropdown": True}],
        "annotations": {"list": []},
        "templating": {"list": [datasource, *variables]},
        "panels": _layout(panels),
    }


# -- Operations --------------------------------------------------------------------------

W = 'job="cxpulse-worker", instance=~"$instance"'


def _quantiles(metric: str, by: str = "") -> list[tuple[str, str]]:
    group = f"le{', ' + by if by else ''}"
    return [(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{W}}}[$__rate_interval])))",
             f"p{int(q * 100)}" + (f" {{{{{by}}}}}" if by else "")) for q in (0.5, 0.95, 0.99)]


def operations() -> dict[str, Any]:
    """Pipeline health: throughput, lag, latency, dead letters, duplicates, alerts out, workers."""
    panels = [
        row("Throughput"),
        stat("Events per second", f"sum(rate(cxpulse_events_total{{{W}}}[$__rate_interval]))", "ops"),
        stat("Consumer lag (records)", f"sum(cxpulse_consumer_lag_records{{{W}}})",
             description="Records on the source topics not yet committed by the worker group."),
        stat("Workers up", 'sum(up{job="cxpulse-worker"})'),
        stat("Invalid records (5m)", "sum(job:cxpulse_events_invalid:ratio_rate5m)", "percentunit",
             description="Share of records that went to the dead-letter topic."),
        timeseries("Events by type", (f"sum by (event_type) (rate(cxpulse_events_total{{{W}}}[$__rate_interval]))",
                                      "{{event_type}}"), unit="ops", stack=True),
        timeseries("Events by channel", (f"sum by (channel) (rate(cxpulse_events_total{{{W}}}[$__rate_interval]))",
                                         "{{channel}}"), unit="ops", stack=True),
        row("Lag and latency"),
        timeseries("Consumer lag by topic", ("topic:cxpulse_consumer_lag_records:sum", "{{topic}}"),
                   description="Records not yet committed, summed over partitions (recording rule)."),
        timeseries("Consumer lag by partition", (f"sum by (topic, partition) (cxpulse_consumer_lag_records{{{W}}})",
                                                 "{{topic}} #{{partition}}")),
        timeseries("Processing latency (Kafka write to outputs delivered)", *_quantiles("cxpulse_event_latency_seconds"),
                   unit="s"),
        timeseries("Event-time lag (processed minus occurred_at)", *_quantiles("cxpulse_event_time_lag_seconds"),
                   unit="s", description="How old events are when processed: replays and late producers show here."),
        timeseries("Batch duration p95 by agent",
                   (f"histogram_quantile(0.95, sum by (le, agent) "
                    f"(rate(cxpulse_batch_duration_seconds_bucket{{{W}}}[$__rate_interval])))", "{{agent}}"), unit="s"),
        timeseries("Stream clock behind wall clock",
                   (f"time() - max(cxpulse_stream_clock_timestamp_seconds{{{W}}})", "event time behind"), unit="s",
                   description="Wall-clock time minus the largest occurred_at seen (the SLA clock)."),
        row("Dead letters, duplicates and alerts"),
        timeseries("Dead-lettered and duplicate events",
                   (f"sum(rate(cxpulse_events_invalid_total{{{W}}}[$__rate_interval]))", "dead-lettered"),
                   (f"sum(rate(cxpulse_events_duplicate_total{{{W}}}[$__rate_interval]))", "duplicate"), unit="ops"),
        timeseries("Alerts emitted by rule", (f"sum by (rule) (rate(cxpulse_alerts_total{{{W}}}[$__rate_interval]))",
                                              "{{rule}}"), unit="ops", stack=True),
        timeseries("Alert delivery to Alertmanager",
                   ("sum by (outcome) (rate(cxpulse_router_alerts_total[$__rate_interval]))", "{{outcome}}"),
                   ("sum(rate(cxpulse_router_posts_total{result=\"failed\"}[$__rate_interval]))", "failed requests"),
                   unit="ops"),
        timeseries("Alert delivery delay (emitted to accepted by Alertmanager)",
                   *[(f"histogram_quantile({q}, sum by (le) (rate(cxpulse_router_delivery_delay_seconds_bucket"
                      f"[$__rate_interval])))", f"p{int(q * 100)}") for q in (0.5, 0.95)], unit="s"),
        row("Workers"),
        timeseries("Up", ('up{job=~"cxpulse-worker|cxpulse-router|cxpulse-gateway|alertmanager"}',
                          "{{job}} {{instance}}"), width=8),
        timeseries("CPU", (f"rate(process_cpu_seconds_total{{{W}}}[$__rate_interval])", "{{instance}}"),
                   unit="percentunit", width=8),
        timeseries("Resident memory", (f"process_resident_memory_bytes{{{W}}}", "{{instance}}"), unit="bytes",
                   width=8),
        timeseries("Assigned partitions and rebalancing",
                   (f"sum by (instance) (cxpulse_worker_assigned_partitions{{{W}}})", "{{instance}} partitions"),
                   (f"max(cxpulse_worker_rebalancing{{{W}}})", "rebalancing")),
        timeseries("Pipeline alerts firing",
                   ('count by (alertname) (ALERTS{component="pipeline", alertstate="firing"}) or vector(0)',
                    "{{alertname}}"),
                   description="Prometheus alerting rules of deploy/prometheus/rules (0 when none fires)."),
    ]
    return _dashboard("cxpulse-operations", "cxpulse — Operations",
                      "Pipeline health: throughput, lag, latency, dead letters, alerts out, workers.", panels,
                      [_variable("instance", "Worker", 'label_values(up{job="cxpulse-worker"}, instance)')],
                      ["operations"])


# -- Customer experience ------------------------------------------------------------------

S = 'service_type=~"$service_type"'


def customer_experience() -> dict[str, Any]:
    """The experience map of seed 001: scores, risk, alerts and friction by service type and channel."""
    panels = [
        row("Customers"),
        stat("Customers tracked", "sum(cxpulse_customers)"),
        stat("At risk", 'sum(cxpulse_customers{risk_band="at_risk"})', defaults={"color": {"mode": "fixed",
                                                                                       "fixedColor": "orange"}}),
        stat("Critical", 'sum(cxpulse_customers{risk_band="critical"})', defaults={"color": {"mode": "fixed",
                                                                                        "fixedColor": "red"}}),
        stat("Alerts in the last hour", f"sum(increase(cxpulse_alerts_total{{{S}}}[1h]))"),
        bargauge("Score distribution", ("sum by (score_range) (cxpulse_customers_by_score)", "{{score_range}}"),
                 description="Customers by experience score (0-100), over every worker."),
        table("Customers by risk band and segment", "risk_band_segment:cxpulse_customers:sum",
              ["risk_band", "segment"], value_name="customers"),
        timeseries("Customers at risk and critical",
                   ('sum by (risk_band) (cxpulse_customers{risk_band!="healthy"})', "{{risk_band}}"), width=24,
                   height=6),
        row("Alerts"),
        timeseries("Alerts by rule", (f"sum by (rule) (rate(cxpulse_alerts_total{{{S}}}[$__rate_interval]) * 3600)",
                                      "{{rule}}"), unit="short", stack=True,
                   description="Alerts per hour, by rule."),
        table("Alerts by rule and severity (24 h)",
              f"sum by (rule, severity) (round(increase(cxpulse_alerts_total{{{S}}}[24h])))", ["rule", "severity"],
              value_name="alerts"),
        bargauge("Alerts by service type and segment (24 h)",
                 (f"sum by (service_type, segment) (round(increase(cxpulse_alerts_total{{{S}}}[24h])))",
                  "{{service_type}} / {{segment}}"), width=24),
        row("Experience map: service types and channels"),
        timeseries("Repeat contacts per inbound contact",
                   (f"service_type:cxpulse_repeat_contacts_per_inbound_contact:ratio_rate1h{{{S}}}",
                    "{{service_type}}"), unit="percentunit",
                   description="Share of inbound contacts that repeat an earlier one on the same service type (1 h)."),
        timeseries("Complaints per inbound contact",
                   (f"service_type:cxpulse_complaints_per_inbound_contact:ratio_rate1h{{{S}}}", "{{service_type}}"),
                   unit="percentunit"),
        bargauge("Repeat-contact share by service type and channel",
                 (f"service_type_channel:cxpulse_repeat_contacts_per_inbound_contact:ratio_rate1h{{{S}}}",
                  "{{service_type}} / {{channel}}"), unit="percentunit"),
        bargauge("Complaint share by service type and channel",
                 (f"service_type_channel:cxpulse_complaints_per_inbound_contact:ratio_rate1h{{{S}}}",
                  "{{service_type}} / {{channel}}"), unit="percentunit"),
        timeseries("SLA breaches per hour by service type",
                   (f"service_type:cxpulse_sla_breaches:increase1h{{{S}}}", "{{service_type}}"),
                   description="Tickets not resolved by their due time (tickets have no channel)."),
        timeseries("Dissatisfied responses per hour by channel",
                   (f"sum by (channel) (rate(cxpulse_dissatisfied_responses_total{{{S}}}[$__rate_interval]) * 3600)",
                    "{{channel}}"), stack=True),
        timeseries("Inbound contacts per hour by service type",
                   (f"sum by (service_type) (rate(cxpulse_inbound_contacts_total{{{S}}}[$__rate_interval]) * 3600)",
                    "{{service_type}}"), stack=True),
        timeseries("Incidents by service type",
                   (f'sum by (service_type) (increase(cxpulse_alerts_total{{rule="incident", {S}}}[1h])) or vector(0)',
                    "{{service_type}}"),
                   description="Incident alerts in the last hour (0 when there was none)."),
        row("Outcomes: customers who left"),
        table("Churned customers by band when they left (30 d)",
              "sum by (risk_band, segment, action) (round(increase(cxpulse_churned_customers_total[30d])))",
              ["risk_band", "segment", "action"], value_name="customers",
              description="Account events saying a customer cancelled, did not renew or downgraded, by the risk "
                          "band the customer was in then (docs/backtest.md measures how well bands predict this)."),
        timeseries("Churned customers per day by band",
                   ("sum by (risk_band) (rate(cxpulse_churned_customers_total[$__rate_interval]) * 86400)",
                    "{{risk_band}}"), stack=True),
    ]
    return _dashboard("cxpulse-experience", "cxpulse — Customer experience",
                      "Scores, risk and friction by service type and channel: the experience map.", panels,
                      [_variable("service_type", "Service type", "label_values(cxpulse_events_total, service_type)")],
                      ["experience"])


DASHBOARDS = {"operations.json": operations, "customer-experience.json": customer_experience}


def build_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in build_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a developer's command
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "deploy/grafana/dashboards"
    for path in write_all(target):
        print(path)
