"""The two Grafana dashboards of cxpulse, built with Grafana's own SDK and written as provisioned JSON.

``python -m cxpulse.dashboards [DIR]`` writes ``operations.json`` and
``customer-experience.json`` (default DIR: ``deploy/grafana/dashboards``); a unit test
checks that the committed files are what this module builds, so edit here, not there.
The panels are made with ``grafana-foundation-sdk`` (the ``dashboards`` extra), the
builders Grafana publishes for its own dashboard schema.

Every panel queries Prometheus through the ``$datasource`` variable; worker panels are
narrowed with ``$job`` (the scrape job of the workers, chosen from what Prometheus has:
nothing assumes a job name) and ``$instance``, experience panels with ``$service_type``.
Panels tied to a pipeline alert link to its runbook (``${runbooks}#anchor``; the
``runbooks`` variable says where docs/runbooks.md is published) and draw the alert's
threshold; the operations dashboard marks the pipeline alerts that fired, the experience
dashboard the incidents.
"""

import json
import sys
from pathlib import Path
from typing import Any

from cxpulse.errors import CxpulseError

try:
    from grafana_foundation_sdk.builders import bargauge, common, dashboard, prometheus, stat, table, timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as common_models
    from grafana_foundation_sdk.models import dashboard as models
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise CxpulseError("the dashboards are built with grafana-foundation-sdk: pip install 'cxpulse[dashboards]'") from exc

__all__ = ["DASHBOARDS", "DATASOURCE_UID", "RUNBOOKS", "build_all", "customer_experience", "operations", "write_all"]

DATASOURCE_UID = "cxpulse-prometheus"  # the provisioned datasource (deploy/grafana/provisioning)
# Where docs/runbooks.md is read: a relative link works where Grafana serves the repository's docs;
# set the dashboard's `runbooks` variable (or this default) to your published copy.
RUNBOOKS = "docs/runbooks.md"
_DS = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
GREEN, ORANGE, RED = "green", "orange", "red"

Query = tuple[str, str]  # (PromQL, legend)


def _targets(panel: Any, queries: tuple[Query, ...], instant: bool = False, table_format: bool = False) -> Any:
    for index, (expr, legend) in enumerate(queries):
        target = prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(chr(ord("A") + index))
        target = target.instant() if instant else target.range()
        if table_format:
            target = target.format(PromQueryFormat.TABLE)
        panel = panel.with_target(target)
    return panel


def _common(panel: Any, title: str, description: str, unit: str, width: int, height: int,
            thresholds: list[tuple[float | None, str]] | None, runbook: str | None) -> Any:
    panel = panel.title(title).description(description).datasource(_DS).unit(unit).span(width).height(height)
    if thresholds:
        steps = [models.Threshold(value=value, color=color) for value, color in thresholds]
        panel = panel.thresholds(dashboard.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE).steps(steps))
    if runbook:
        link = dashboard.DashboardLink(f"Runbook: {runbook}").url(f"${{runbooks}}#{runbook.lower()}").target_blank(True)
        panel = panel.links([link])
    return panel


def timeseries_panel(title: str, *queries: Query, description: str, unit: str = "short", stack: bool = False,
                     width: int = 12, height: int = 8, thresholds: list[tuple[float | None, str]] | None = None,
                     runbook: str | None = None) -> Any:
    """A time series; ``thresholds`` are drawn as dashed lines (the alert's threshold)."""
    panel = timeseries.Panel().line_width(1).fill_opacity(20 if stack else 8).show_points(common_models.VisibilityMode.NEVER)
    panel = panel.stacking(common.StackingConfig().mode(
        common_models.StackingMode.NORMAL if stack else common_models.StackingMode.NONE).group("A"))
    panel = panel.legend(common.VizLegendOptions().display_mode(common_models.LegendDisplayMode.LIST)
                         .placement(common_models.LegendPlacement.BOTTOM).show_legend(True))
    panel = panel.tooltip(common.VizTooltipOptions().mode(common_models.TooltipDisplayMode.MULTI)
                          .sort(common_models.SortOrder.DESCENDING))
    if thresholds:
        panel = panel.thresholds_style(common.GraphThresholdsStyleConfig().mode(
            common_models.GraphThresholdsStyleMode.DASHED))
    return _common(_targets(panel, queries), title, description, unit, width, height, thresholds, runbook)


def stat_panel(title: str, expr: str, *, description: str, unit: str = "short", width: int = 6, height: int = 4,
               thresholds: list[tuple[float | None, str]] | None = None, runbook: str | None = None) -> Any:
    """One number, coloured by ``thresholds`` (default: always green)."""
    panel = stat.Panel().color_mode(common_models.BigValueColorMode.VALUE).graph_mode(common_models.BigValueGraphMode.NONE)
    panel = panel.reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    return _common(_targets(panel, ((expr, ""),), instant=True), title, description, unit, width, height,
                   thresholds or [(None, GREEN)], runbook)


def bargauge_panel(title: str, *queries: Query, description: str, unit: str = "short", width: int = 12,
                   height: int = 8, thresholds: list[tuple[float | None, str]] | None = None) -> Any:
    """Horizontal bars, one per series, at the last value."""
    panel = bargauge.Panel().display_mode(common_models.BarGaugeDisplayMode.GRADIENT).show_unfilled(True)
    panel = panel.orientation(common_models.VizOrientation.HORIZONTAL)
    panel = panel.reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    return _common(_targets(panel, queries, instant=True), title, description, unit, width, height,
                   thresholds or [(None, GREEN)], None)


def table_panel(title: str, expr: str, columns: list[str], *, description: str, value_name: str,
                width: int = 12, height: int = 8) -> Any:
    """An instant query as a table with one row per series (``columns``: its labels, then the value)."""
    panel = table.Panel().show_header(True).cell_height(common_models.TableCellHeight.SM)
    panel = panel.with_transformation(models.DataTransformerConfig(id_val="organize", options={
        "excludeByName": {"Time": True},
        "indexByName": {name: i for i, name in enumerate([*columns, "Value"])},
        "renameByName": {"Value": value_name},
    }))
    return _common(_targets(panel, ((expr, ""),), instant=True, table_format=True), title, description, "short",
                   width, height, None, None)


def _query_variable(name: str, label: str, query: str, *, include_all: bool = True) -> Any:
    variable = dashboard.QueryVariable(name).label(label).datasource(_DS).query(query)
    variable = variable.refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(models.VariableSort.ALPHABETICAL_ASC)
    if include_all:
        variable = variable.include_all(True).multi(True).all_value(".*").current(
            models.VariableOption(text="All", value="$__all", selected=True))
    return variable


def _dashboard(uid: str, title: str, description: str, tags: list[str], variables: list[Any],
               rows: list[tuple[str, list[Any]]], annotation: Any) -> dict[str, Any]:
    board = dashboard.Dashboard(title).uid(uid).description(description).tags(["cxpulse", *tags]).editable()
    board = board.tooltip(models.DashboardCursorSync.CROSSHAIR).refresh("30s").time("now-3h", "now")
    board = board.timezone("browser").version(1)
    board = board.link(dashboard.DashboardLink("cxpulse dashboards").type(models.DashboardLinkType.DASHBOARDS)
                       .tags(["cxpulse"]).as_dropdown(True))
    board = board.link(dashboard.DashboardLink("Runbooks").type(models.DashboardLinkType.LINK).url("${runbooks}")
                       .target_blank(True).icon("doc"))
    datasource = dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
    runbooks = dashboard.TextBoxVariable("runbooks").label("Runbooks at").default_value(RUNBOOKS)
    board = board.variables([datasource, *variables, runbooks]).annotation(annotation)
    for row_title, panels in rows:
        board = board.with_row(dashboard.Row(row_title))
        for panel in panels:
            board = board.with_panel(panel)
    built = json.loads(JSONEncoder(sort_keys=True, indent=2).encode(board.build()))
    for number, panel in enumerate(built["panels"], start=1):
        panel["id"] = number  # stable ids in file order
    for variable in built["templating"]["list"]:
        if variable["name"] == "datasource":  # the SDK's datasource variable has no setter for it
            variable["current"] = {"selected": True, "text": "Prometheus", "value": DATASOURCE_UID}
    return built


# -- Operations --------------------------------------------------------------------------

W = 'job=~"$job", instance=~"$instance"'
LAG_STEPS: list[tuple[float | None, str]] = [(None, GREEN), (1000, ORANGE), (10000, RED)]


def _quantiles(metric: str) -> tuple[Query, ...]:
    return tuple((f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{W}}}[$__rate_interval])))",
                  f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99))


def _pipeline_annotation() -> Any:
    return (dashboard.AnnotationQuery().name("Pipeline alerts").datasource(_DS).enable(True).icon_color(RED)
            .expr('ALERTS{component="pipeline", alertstate="firing"}'))


def operations() -> dict[str, Any]:
    """Pipeline health: throughput, lag, latency, dead letters, duplicates, alerts out, workers."""
    rows = [
        ("Throughput", [
            stat_panel("Events per second", f"sum(rate(cxpulse_events_total{{{W}}}[$__rate_interval]))", unit="ops",
                       description="Valid events the workers processed per second (dead letters not included)."),
            stat_panel("Consumer lag (records)", f"sum(cxpulse_consumer_lag_records{{{W}}})",
                       description="Records on the source topics not yet committed by the worker group. Orange from "
                                   "1,000 (the CxpulseConsumerLagGrowing threshold), red from 10,000.",
                       thresholds=LAG_STEPS, runbook="CxpulseConsumerLagGrowing"),
            stat_panel("Workers up", 'sum(up{job=~"$job"})', runbook="CxpulseWorkerDown",
                       description="Worker processes Prometheus can scrape; red at 0 (CxpulseNoWorkerRunning).",
                       thresholds=[(None, RED), (1, GREEN)]),
            stat_panel("Invalid records (5m)", 'sum(job:cxpulse_events_invalid:ratio_rate5m{job=~"$job"})',
                       unit="percentunit", runbook="CxpulseDeadLettersHigh",
                       description="Share of records that went to the dead-letter topic; red above 1% "
                                   "(CxpulseDeadLettersHigh).", thresholds=[(None, GREEN), (0.01, RED)]),
            timeseries_panel("Events by type", (f"sum by (event_type) (rate(cxpulse_events_total{{{W}}}"
                                                f"[$__rate_interval]))", "{{event_type}}"), unit="ops", stack=True,
                             description="Processed events per second, by event type."),
            timeseries_panel("Events by channel", (f"sum by (channel) (rate(cxpulse_events_total{{{W}}}"
                                                   f"[$__rate_interval]))", "{{channel}}"), unit="ops", stack=True,
                             description="Processed events per second, by contact channel."),
        ]),
        ("Lag and latency", [
            timeseries_panel("Consumer lag by topic", ("topic:cxpulse_consumer_lag_records:sum", "{{topic}}"),
                             description="Records not yet committed, summed over partitions (recording rule); the "
                                         "dashed line is the alert's threshold.", thresholds=LAG_STEPS,
                             runbook="CxpulseConsumerLagGrowing"),
            timeseries_panel("Consumer lag by partition", (f"sum by (topic, partition) (cxpulse_consumer_lag_records"
                                                           f"{{{W}}})", "{{topic}} #{{partition}}"),
                             description="A partition whose lag stays flat while records wait is stalled.",
                             runbook="CxpulsePartitionStalled"),
            timeseries_panel("Processing latency (Kafka write to outputs delivered)",
                             *_quantiles("cxpulse_event_latency_seconds"), unit="s",
                             description="From the record's Kafka timestamp to its alerts, snapshot and changelog "
                                         "delivered; CxpulseProcessingLatencyHigh fires when p95 stays above 30 s.",
                             thresholds=[(None, GREEN), (30, RED)], runbook="CxpulseProcessingLatencyHigh"),
            timeseries_panel("Event-time lag (processed minus occurred_at)", *_quantiles("cxpulse_event_time_lag_seconds"),
                             unit="s", description="How old events are when processed: replays and late producers "
                                                   "show here."),
            timeseries_panel("Batch duration p95 by agent",
                             (f"histogram_quantile(0.95, sum by (le, agent) "
                              f"(rate(cxpulse_batch_duration_seconds_bucket{{{W}}}[$__rate_interval])))", "{{agent}}"),
                             unit="s", description="How long one batch takes to process and deliver, by agent."),
            timeseries_panel("Stream clock behind wall clock",
                             (f"time() - max(cxpulse_stream_clock_timestamp_seconds{{{W}}})", "event time behind"),
                             unit="s", description="Wall-clock time minus the largest occurred_at seen (the SLA "
                                                   "clock)."),
        ]),
        ("Dead letters, duplicates and alerts", [
            timeseries_panel("Dead-lettered and duplicate events",
                             (f"sum(rate(cxpulse_events_invalid_total{{{W}}}[$__rate_interval]))", "dead-lettered"),
                             (f"sum(rate(cxpulse_events_duplicate_total{{{W}}}[$__rate_interval]))", "duplicate"),
                             unit="ops", runbook="CxpulseDeadLettersHigh",
                             description="Invalid records sent to the dead-letter topic and duplicates (an event id "
                                         "seen before) per second."),
            timeseries_panel("Alerts emitted by rule", (f"sum by (rule) (rate(cxpulse_alerts_total{{{W}}}"
                                                        f"[$__rate_interval]))", "{{rule}}"), unit="ops", stack=True,
                             description="Customer alerts the workers wrote to the alerts topic, by rule."),
            timeseries_panel("Alert delivery to Alertmanager",
                             ("sum by (outcome) (rate(cxpulse_router_alerts_total[$__rate_interval]))", "{{outcome}}"),
                             ('sum(rate(cxpulse_router_posts_total{result="failed"}[$__rate_interval]))',
                              "failed requests"), unit="ops", runbook="CxpulseAlertDeliveryFailing",
                             description="What the alert router did with each alert, and its failed requests."),
            timeseries_panel("Alert delivery delay (emitted to accepted by Alertmanager)",
                             *[(f"histogram_quantile({q}, sum by (le) (rate(cxpulse_router_delivery_delay_seconds_bucket"
                                f"[$__rate_interval])))", f"p{int(q * 100)}") for q in (0.5, 0.95)], unit="s",
                             description="From the worker emitting an alert to Alertmanager accepting it."),
        ]),
        ("Workers", [
            timeseries_panel("Up", ('up{job=~"$job", instance=~"$instance"}', "{{instance}}"), width=8,
                             description="1 while Prometheus can scrape the worker.", runbook="CxpulseWorkerDown",
                             thresholds=[(None, RED), (1, GREEN)]),
            timeseries_panel("CPU", (f"rate(process_cpu_seconds_total{{{W}}}[$__rate_interval])", "{{instance}}"),
                             unit="percentunit", width=8, description="CPU time per second of each worker process."),
            timeseries_panel("Resident memory", (f"process_resident_memory_bytes{{{W}}}", "{{instance}}"),
                             unit="bytes", width=8,
                             description="Resident memory of each worker (docs/operations.md, \"Sizing\")."),
            timeseries_panel("Assigned partitions and rebalancing",
                             (f"sum by (instance) (cxpulse_worker_assigned_partitions{{{W}}})", "{{instance}} partitions"),
                             (f"max(cxpulse_worker_rebalancing{{{W}}})", "rebalancing"), runbook="CxpulseRebalanceStuck",
                             description="Partitions each worker holds; 1 on the rebalancing line while the group "
                                         "rebalances."),
            timeseries_panel("Pipeline alerts firing",
                             ('count by (alertname) (ALERTS{component="pipeline", alertstate="firing"}) or vector(0)',
                              "{{alertname}}"),
                             description="Prometheus alerting rules of deploy/prometheus/rules (0 when none fires); "
                                         "each has a runbook in docs/runbooks.md."),
        ]),
    ]
    worker_job = _query_variable("job", "Worker job", "label_values(cxpulse_worker_rebalancing, job)",
                                 include_all=False)
    instance = _query_variable("instance", "Worker", 'label_values(cxpulse_worker_rebalancing{job=~"$job"}, instance)')
    return _dashboard("cxpulse-operations", "cxpulse — Operations",
                      "Pipeline health: throughput, lag, latency, dead letters, alerts out, workers.", ["operations"],
                      [worker_job, instance], rows, _pipeline_annotation())


# -- Customer experience ------------------------------------------------------------------

S = 'service_type=~"$service_type"'


def customer_experience() -> dict[str, Any]:
    """The experience map: scores, risk, alerts and friction by service type and channel."""
    rows = [
        ("Customers", [
            stat_panel("Customers tracked", "sum(cxpulse_customers)",
                       description="Customers with state in the workers (every customer seen)."),
            stat_panel("At risk", 'sum(cxpulse_customers{risk_band="at_risk"})', thresholds=[(None, ORANGE)],
                       description="Customers whose experience score is in the at_risk band (docs/rules.md)."),
            stat_panel("Critical", 'sum(cxpulse_customers{risk_band="critical"})', thresholds=[(None, RED)],
                       description="Customers whose experience score is in the critical band."),
            stat_panel("Alerts in the last hour", f"sum(increase(cxpulse_alerts_total{{{S}}}[1h]))",
                       description="Customer and incident alerts raised in the last hour."),
            bargauge_panel("Score distribution", ("sum by (score_range) (cxpulse_customers_by_score)", "{{score_range}}"),
                           description="Customers by experience score (0-100), over every worker."),
            table_panel("Customers by risk band and segment", "risk_band_segment:cxpulse_customers:sum",
                        ["risk_band", "segment"], value_name="customers",
                        description="How many customers of each segment are in each risk band."),
            timeseries_panel("Customers at risk and critical",
                             ('sum by (risk_band) (cxpulse_customers{risk_band!="healthy"})', "{{risk_band}}"),
                             width=24, height=6, description="The customers outside the healthy band over time."),
        ]),
        ("Alerts", [
            timeseries_panel("Alerts by rule", (f"sum by (rule) (rate(cxpulse_alerts_total{{{S}}}[$__rate_interval])"
                                                f" * 3600)", "{{rule}}"), stack=True,
                             description="Alerts per hour, by rule."),
            table_panel("Alerts by rule and severity (24 h)",
                        f"sum by (rule, severity) (round(increase(cxpulse_alerts_total{{{S}}}[24h])))",
                        ["rule", "severity"], value_name="alerts", description="Alerts of the last 24 hours."),
            bargauge_panel("Alerts by service type and segment (24 h)",
                           (f"sum by (service_type, segment) (round(increase(cxpulse_alerts_total{{{S}}}[24h])))",
                            "{{service_type}} / {{segment}}"), width=24,
                           description="Where the last day's alerts came from."),
        ]),
        ("Experience map: service types and channels", [
            timeseries_panel("Repeat contacts per inbound contact",
                             (f"service_type:cxpulse_repeat_contacts_per_inbound_contact:ratio_rate1h{{{S}}}",
                              "{{service_type}}"), unit="percentunit", thresholds=[(None, GREEN), (0.2, ORANGE)],
                             description="Share of inbound contacts that repeat an earlier one on the same service "
                                         "type (1 h); the dashed line marks one in five."),
            timeseries_panel("Complaints per inbound contact",
                             (f"service_type:cxpulse_complaints_per_inbound_contact:ratio_rate1h{{{S}}}",
                              "{{service_type}}"), unit="percentunit", thresholds=[(None, GREEN), (0.1, ORANGE)],
                             description="Share of inbound contacts that were complaints (1 h); the dashed line "
                                         "marks one in ten."),
            bargauge_panel("Repeat-contact share by service type and channel",
                           (f"service_type_channel:cxpulse_repeat_contacts_per_inbound_contact:ratio_rate1h{{{S}}}",
                            "{{service_type}} / {{channel}}"), unit="percentunit",
                           thresholds=[(None, GREEN), (0.2, ORANGE), (0.4, RED)],
                           description="Where customers have to ask twice (1 h)."),
            bargauge_panel("Complaint share by service type and channel",
                           (f"service_type_channel:cxpulse_complaints_per_inbound_contact:ratio_rate1h{{{S}}}",
                            "{{service_type}} / {{channel}}"), unit="percentunit",
                           thresholds=[(None, GREEN), (0.1, ORANGE), (0.25, RED)],
                           description="Where contacts end in a complaint (1 h)."),
            timeseries_panel("SLA breaches per hour by service type",
                             (f"service_type:cxpulse_sla_breaches:increase1h{{{S}}}", "{{service_type}}"),
                             description="Tickets not resolved by their due time (tickets have no channel)."),
            timeseries_panel("Dissatisfied responses per hour by channel",
                             (f"sum by (channel) (rate(cxpulse_dissatisfied_responses_total{{{S}}}[$__rate_interval])"
                              f" * 3600)", "{{channel}}"), stack=True,
                             description="CSAT, NPS and CES responses in the dissatisfied range, per hour."),
            timeseries_panel("Inbound contacts per hour by service type",
                             (f"sum by (service_type) (rate(cxpulse_inbound_contacts_total{{{S}}}[$__rate_interval])"
                              f" * 3600)", "{{service_type}}"), stack=True,
                             description="Calls, tickets and messages customers started, per hour."),
            timeseries_panel("Incidents by service type",
                             (f'sum by (service_type) (increase(cxpulse_alerts_total{{rule="incident", {S}}}[1h])) '
                              "or vector(0)", "{{service_type}}"),
                             description="Incident alerts in the last hour (0 when there was none); they are also "
                                         "marked on every panel."),
        ]),
        ("Outcomes: customers who left", [
            table_panel("Churned customers by band when they left (30 d)",
                        "sum by (risk_band, segment, action) (round(increase(cxpulse_churned_customers_total[30d])))",
                        ["risk_band", "segment", "action"], value_name="customers",
                        description="Account events saying a customer cancelled, did not renew or downgraded, by "
                                    "the risk band the customer was in then (docs/backtest.md measures how well "
                                    "bands predict this)."),
            timeseries_panel("Churned customers per day by band",
                             ("sum by (risk_band) (rate(cxpulse_churned_customers_total[$__rate_interval]) * 86400)",
                              "{{risk_band}}"), stack=True,
                             description="Customers leaving per day (account events), by the risk band they were in "
                                         "when they left."),
        ]),
    ]
    incidents = (dashboard.AnnotationQuery().name("Incidents").datasource(_DS).enable(True).icon_color(RED)
                 .expr(f'sum by (service_type) (increase(cxpulse_alerts_total{{rule="incident", {S}}}[2m])) > 0'))
    service_type = _query_variable("service_type", "Service type", "label_values(cxpulse_events_total, service_type)")
    return _dashboard("cxpulse-experience", "cxpulse — Customer experience",
                      "Scores, risk and friction by service type and channel: the experience map.", ["experience"],
                      [service_type], rows, incidents)


DASHBOARDS = {"operations.json": operations, "customer-experience.json": customer_experience}


def build_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for name, build in DASHBOARDS.items()}


def write_all(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory``; the paths written."""
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
