"""``cxpulse demo``: the whole pipeline on one machine, with its alerts on the screen.

Starts what is missing (the local Kafka broker, the topics, workers, and — when the
packages are installed — Prometheus, Alertmanager and the alert router), the supervisor's
console in the browser, runs the simulator with its hidden churn model, prints each alert
as it arrives, then measures the score and the alerts against who left (a backtest of this
run's events) and says where to look next. It also checks, under that name, that the rules
fired where the simulator put struggles.
"""

import json
import os
import queue
import secrets
import shutil
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings
from cxpulse.supervisor import Children, cxpulse_command

__all__ = ["DEFAULT_NAMESPACE", "DemoOptions", "namespaced", "run_demo"]

# The demo's topics and consumer groups carry this prefix, so that a demo pointed at a
# shared broker never reads, writes or joins the groups of a pipeline already there.
DEFAULT_NAMESPACE = "cxpulse-demo"


@dataclass(frozen=True)
class DemoOptions:
    """What the demo simulates and how it runs."""

    customers: int = 5000
    days: float = 3.0
    rate: float = 300.0
    seed: int = 1
    workers: int = 1
    run_dir: Path = Path("var/demo")
    config: Path | None = None
    max_alert_lines: int = 40
    max_warning_lines: int = 8  # agent warnings with a concern shown as they arrive
    keep_running: bool = True
    ops: bool = True
    fresh: bool = True  # wipe the demo's own broker data and worker state first
    namespace: str = DEFAULT_NAMESPACE  # prefix of its topics and groups; "" uses the configured names
    churn_scale: float = 10.0  # the hidden churn model runs this much faster: a few days show what weeks would


def namespaced(settings: Settings, namespace: str) -> tuple[Settings, dict[str, str]]:
    """``settings`` with the demo's own topic names and consumer groups, and the variables that pass them on.

    Topics become ``<namespace>.<name>`` (every topic of ``[topics]``), the worker's app id
    (its consumer group, changelog and contacts topics) ``<namespace>``, the router's and
    the archive's groups ``<namespace>-alert-router`` and ``<namespace>-archive``.
    """
    if not namespace:
        return settings, {}
    topics = {name: f"{namespace}.{getattr(settings.topics, name)}"
              for name, field in type(settings.topics).model_fields.items() if field.annotation is str}
    sections = {
        "topics": topics,
        "worker": {"app_id": namespace},
        "alerts": {"group_id": f"{namespace}-alert-router"},
        "archive": {"group_id": f"{namespace}-archive"},
    }
    update = {section: getattr(settings, section).model_copy(update=values) for section, values in sections.items()}
    env = {f"CXPULSE_{section.upper()}__{name.upper()}": value
           for section, values in sections.items() for name, value in values.items()}
    return settings.model_copy(update=update), env


class Demo:
    """One demo run: what it started, what it saw."""

    def __init__(self, settings: Settings, options: DemoOptions, console: Console) -> None:
        self.settings, self.names = namespaced(settings, options.namespace)
        self.options = options
        self.console = console
        env = {"CXPULSE_CONFIG": str(options.config.resolve())} if options.config else {}
        # The workers' read API wants a token with the read scope: one for this run only.
        self.read_token = secrets.token_urlsafe(24)
        env["CXPULSE_GATEWAY__TOKENS"] = json.dumps([{"name": "demo-reader", "token": self.read_token,
                                                     "scopes": ["read"]}])
        if not settings.console.public_url and not settings.alerts.customer_url:
            from cxpulse.alerts.console_run import console_url

            # The router links each alert to this run's console (its customer view).
            env["CXPULSE_CONSOLE__PUBLIC_URL"] = console_url(settings)
        self.children = Children(options.run_dir / "logs", {**env, **self.names})
        self.shown = 0  # alerts seen on the live feed
        self.warnings: Counter[str] = Counter()  # agent warnings seen, by severity
        self.warning_example: dict[str, Any] | None = None
        self._inbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.web_ports = [settings.worker.web_port + i for i in range(options.workers)]
        self.ops_urls: dict[str, str] = {}
        self.console_url = ""
        self.started_ms = int(time.time() * 1000)
        self.own_broker: Any = None  # the LocalBroker this run started, stopped at the end
        self.churn_horizon_hours: float | None = None  # the horizon of the summary's backtest

    # -- steps ---------------------------------------------------------------------

    def step(self, label: str, action: Callable[[], str]) -> None:
        began = time.monotonic()
        with self.console.status(f"{label} ..."):
            detail = action()
        self.console.print(f"[green]✓[/] {label}: {detail} [dim]({time.monotonic() - began:.1f} s)[/]")

    def ensure_broker(self) -> str:
        """Use a broker that answers; else run the demo's own one, with fresh data unless told not to.

        Fresh matters: a pipeline that already saw a simulated period has its partitions'
        event-time clocks at its end, so a new period over the same days would look like a
        late backfill (tickets breached at once, outage contacts too late to count).
        """
        from cxpulse.broker import LocalBroker, broker_answers

        own = LocalBroker(self.settings.broker.model_copy(update={"data_dir": self.options.run_dir / "kafka"}))
        own.stop()  # left over from a run that did not end cleanly
        address = self.settings.kafka.bootstrap_servers
        if broker_answers(address, 3.0, self.settings.kafka):
            return f"using the broker at {address} (its existing data and the workers' state are kept)"
        if address != own.bootstrap_servers:
            raise CxpulseError(f"no Kafka broker answers at {address}, and it is not the local rig's address")
        if self.options.fresh:
            own.wipe()
            for old in self.options.run_dir.glob("worker-*"):
                shutil.rmtree(old, ignore_errors=True)
        started = own.start(stop_with=os.getpid())  # a killed demo takes its broker with it
        self.own_broker = own
        kept = "" if self.options.fresh else ", data kept from the last run"
        return f"started a broker for this run on {started.bootstrap_servers} ({own.data_dir.name}/ in the run directory{kept}; it stops with the demo)"

    def ensure_topics(self) -> str:
        from cxpulse.topics import ensure_topics, topic_specs

        outcomes = ensure_topics(self.settings.kafka, topic_specs(self.settings.topics))
        created = [outcome.name for outcome in outcomes if outcome.created]
        return f"created {', '.join(created)}" if created else f"all {len(outcomes)} exist"

    def start_workers(self) -> str:
        from cxpulse.broker import port_in_use

        host = self.settings.worker.web_host
        busy = [str(port) for port in self.web_ports if port_in_use(host, port)]
        if busy:
            raise CxpulseError(f"port {', '.join(busy)} on {host} is taken; choose another with CXPULSE_WORKER__WEB_PORT")
        for index, port in enumerate(self.web_ports):
            data_dir = self.options.run_dir / f"worker-{index}"
            data_dir.mkdir(parents=True, exist_ok=True)
            self.children.start(
                f"worker-{index}",
                cxpulse_command("worker", "--web-port", str(port), "--data-dir", str(data_dir), "--loglevel", "warning"),
            )
        self._wait(lambda: all(_get_json(self._worker_url(port, "/healthz")) for port in self.web_ports), 120,
                   "the workers did not become healthy")  # fmt: skip
        return ", ".join(self._worker_url(port, "") for port in self.web_ports)

    def start_ops(self) -> str:
        from cxpulse.alerts.ops import OpsStack

        stack = OpsStack.from_settings(self.settings, self.options.run_dir / "ops", worker_ports=self.web_ports)
        missing = stack.missing()
        if missing:
            return f"skipped: {', '.join(missing)} not installed (scripts/bootstrap.sh installs them)"
        self.ops_urls = stack.start(self.children)
        self.children.start("alert-router", cxpulse_command("alerts", "route"))
        return ", ".join(f"{name} {url}" for name, url in self.ops_urls.items())

    def start_console(self) -> str:
        """``cxpulse console serve`` on ``[console] port``: the supervisor's queue in a browser."""
        from cxpulse.alerts.console_run import console_url
        from cxpulse.broker import port_in_use

        console = self.settings.console
        if port_in_use(console.host, console.port):
            raise CxpulseError(f"port {console.port} on {console.host} is taken; choose another with "
                               "CXPULSE_CONSOLE__PORT")
        self.children.start("console", cxpulse_command("console", "serve"))
        url = console_url(self.settings)
        self._wait(lambda: _get_json(url + "api/status"), 60, "the supervisor console did not answer")
        self.console_url = url
        return f"{url} — open it in a browser: one card per customer at risk, live"

    def simulate(self) -> dict[str, Any]:
        opts = self.options
        truth_file = opts.run_dir / "ground-truth.json"
        truth_file.unlink(missing_ok=True)
        simulator = self.children.start("simulator", cxpulse_command(
            "simulate", "--customers", str(opts.customers), "--days", str(opts.days), "--rate", str(opts.rate),
            "--seed", str(opts.seed), "--ground-truth", str(truth_file),
            "--churn", "--churn-scale", str(opts.churn_scale),
        ), daemon=False)  # fmt: skip
        self.console.print(
            f"[bold]Simulating[/] {opts.customers} customers over {opts.days:g} days at {opts.rate:g} events/s "
            f"(seed {opts.seed}); "
            "alerts appear below as the workers raise them."
        )
        last_status = time.monotonic()
        while simulator.alive():
            self._show_alerts(timeout=0.5)
            self._check_workers()
            if time.monotonic() - last_status > 10:
                self.console.print(f"[dim]… {self._processed()} events processed, {self.shown} alerts[/]")
                last_status = time.monotonic()
        if simulator.process.returncode != 0:
            raise CxpulseError(f"the simulator failed: {simulator.last_lines()}")
        return json.loads(truth_file.read_text(encoding="utf-8"))

    def drain(self) -> list[dict[str, Any]]:
        """Wait until the workers (and the router) have committed everything; return this run's alerts.

        A worker writes a batch's alerts before it commits the batch's offsets, so once the
        events topic has no lag every alert of the run is on the alerts topic: read them
        back exactly rather than trusting the live feed to have caught up.
        """
        from cxpulse.processors.replay.live import read_live_alerts
        from cxpulse.topics import group_lag

        topics, kafka = self.settings.topics, self.settings.kafka
        with self.console.status("waiting for the workers to catch up ..."):
            self._wait(lambda: group_lag(kafka, self.settings.worker.app_id, topics.events) == 0, 180,
                       "the workers did not catch up within 3 minutes")
            if self.ops_urls:
                self._wait(lambda: group_lag(kafka, self.settings.alerts.group_id, topics.alerts) == 0, 120,
                           "the alert router did not deliver every alert to Alertmanager within 2 minutes")
            self._show_alerts(timeout=0.5)
        alerts = read_live_alerts(self.settings, self.started_ms, None).alerts
        return [alert.model_dump(mode="json") for alert in alerts]

    # -- alerts ------------------------------------------------------------------

    def follow_alerts(self) -> None:
        from cxpulse.alerts.console import follow_alerts

        ready = threading.Event()

        def pump() -> None:
            try:
                for alert in follow_alerts(self.settings, stop=self._stop.is_set, on_ready=ready.set):
                    self._inbox.put(alert)
            except Exception as exc:  # shown to the user, never swallowed
                self._inbox.put(exc)
                ready.set()

        threading.Thread(target=pump, name="alerts", daemon=True).start()
        ready.wait(30)
        self.follow_warnings()

    def follow_warnings(self) -> None:
        """Agent warnings join the live feed: the ones with a concern are shown, all are counted."""
        from cxpulse.agent_desk import follow_warnings

        ready = threading.Event()

        def pump() -> None:
            try:
                for warning in follow_warnings(self.settings, stop=self._stop.is_set, on_ready=ready.set):
                    self._inbox.put(("warning", warning))
            except Exception as exc:  # shown to the user, never swallowed
                self._inbox.put(exc)
                ready.set()

        threading.Thread(target=pump, name="warnings", daemon=True).start()
        ready.wait(30)

    def _show_alerts(self, timeout: float) -> None:
        from cxpulse.alerts.console import alert_line

        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if isinstance(item, Exception):
                raise CxpulseError(f"reading alerts failed: {item}")
            if isinstance(item, tuple):
                self._show_warning(item[1])
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    return
                continue
            self.shown += 1
            shown = self.shown
            if shown <= self.options.max_alert_lines:
                self.console.print(_colour(item, alert_line(item)), highlight=False)
            elif shown == self.options.max_alert_lines + 1:
                self.console.print("[dim]… more alerts arriving; the summary below counts them all[/]")
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _show_warning(self, warning: dict[str, Any]) -> None:
        from cxpulse.agent_desk import warning_line

        severity = str(warning.get("severity"))
        self.warnings[severity] += 1
        if severity == "info":
            return
        if self.warning_example is None or severity == "critical" and self.warning_example.get("severity") != "critical":
            self.warning_example = warning
        if sum(n for s, n in self.warnings.items() if s != "info") <= self.options.max_warning_lines:
            self.console.print(f"[cyan]agent warning[/] {_escape(warning_line(warning))}", highlight=False)

    # -- summary -----------------------------------------------------------------

    def summary(self, truth: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
        """Print what happened; return it as data (also written to ``summary.json``)."""
        from cxpulse.producers.evaluation import alert_quality

        quality = alert_quality(truth, alerts)
        processed = self._processed()
        churn = self._churn_figures(truth)
        self.console.rule("[bold]What happened")
        left = (truth.get("churn") or {}).get("left", 0)
        self.console.print(
            f"{truth['emitted']['events']} events from {truth['customers']} customers, "
            f"{len(quality.struggling)} made to struggle, {left} left; {processed} events processed, "
            f"{len(alerts)} alerts."
        )
        self.console.print(_rules_table(alerts, churn))
        self.console.print(_churn_line(churn))
        self.console.print(_quality_line(quality))
        self.console.print(self._warnings_line())
        if self.ops_urls:
            self.console.print(f"The alert router delivered every alert to Alertmanager ({self.ops_urls['Alertmanager']}).")
        self.console.print(self._where_to_look(quality))
        summary = _summary_data(truth, alerts, quality, processed, self.ops_urls, churn)
        summary["console_url"] = self.console_url or None
        summary["agent_warnings"] = dict(self.warnings)
        (self.options.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary

    def _warnings_line(self) -> str:
        total = sum(self.warnings.values())
        concerns = total - self.warnings.get("info", 0)
        line = (f"{total} agent warnings at contact starts on {self.settings.topics.warnings} "
                f"({concerns} with a concern, {self.warnings.get('info', 0)} saying 'no concerns').")
        if self.warning_example is not None:
            line += f"\nFor example: {_escape(self.warning_example.get('summary', ''))}"
        return line

    def _churn_figures(self, truth: dict[str, Any]) -> dict[str, Any]:
        """A backtest of this run's events: the score at mid-period against who left in the second half."""
        from datetime import datetime, timedelta

        from cxpulse.processors.backtest.run import BacktestRequest, collect, report
        from cxpulse.processors.replay.timerange import TimeRange

        start = datetime.fromisoformat(truth["period"]["start"])
        end = datetime.fromisoformat(truth["period"]["end"])
        horizon = (end - start) / 2
        since = datetime.fromtimestamp(self.started_ms / 1000).astimezone()
        request = BacktestRequest(topic=self.settings.topics.events, range=TimeRange(since, None),
                                  cutoffs=(start + horizon,), horizon=horizon, observed_until=end)
        with self.console.status("measuring the score and the alerts against who left ..."):
            collected = collect(self.settings, request, self.settings.engine, [(start + horizon).timestamp()])
            figures = report(collected, request, self.settings.engine)
        figures["horizon_text"] = _days(horizon / timedelta(days=1))
        self.churn_horizon_hours = round(horizon / timedelta(hours=1), 1)
        return figures

    def _where_to_look(self, quality: Any) -> str:
        example = min(quality.true_positives, default=None)
        port = self.web_ports[0]
        lines = ["", "[bold]Where to look[/]"]
        auth = f"-H 'Authorization: Bearer {self.read_token}'"  # valid while this demo runs
        events = self._with_names("CXPULSE_TOPICS__EVENTS")
        if example:
            lines.append(f"  a flagged customer   curl {auth} {self._worker_url(port, '/customers/' + example)}")
            lines.append(f"  their agent brief    curl {auth} {self._worker_url(port, f'/v1/customers/{example}/brief')}")
            lines.append(f"  their timeline       {events}cxpulse customer {example}")
        warnings = self._with_names("CXPULSE_TOPICS__WARNINGS")
        lines.append(f"  agent desktop        {warnings}cxpulse agent-desk --from-beginning")
        lines.append(f"  worker metrics       {self._worker_url(port, '/metrics')}")
        if self.churn_horizon_hours:
            lines.append(f"  the same, in full    {events}cxpulse backtest --since 1h --horizon {self.churn_horizon_hours:g}h "
                         "--html backtest.html  (docs/backtest.md)")
        for name, url in self.ops_urls.items():
            lines.append(f"  {name:<20} {url}")
        lines.append(f"  raw alerts           kcat -C -b {self.settings.kafka.bootstrap_servers} "
                     f"-t {self.settings.topics.alerts} -e")  # fmt: skip
        if self.console_url:
            lines.append(f"  supervisor console   {self.console_url}  (in a browser)")
        lines.append(f"  terminal console     {self._with_names('CXPULSE_TOPICS__ALERTS')}cxpulse alerts tail")
        lines.append(f"  logs                 {self.options.run_dir / 'logs'}")
        return "\n".join(lines)

    # -- helpers -----------------------------------------------------------------

    def _with_names(self, *variables: str) -> str:
        """``NAME=value `` for the demo's own topic names a command run by hand needs."""
        return "".join(f"{name}={self.names[name]} " for name in variables if name in self.names)

    def _worker_url(self, port: int, path: str) -> str:
        return f"http://{self.settings.worker.web_host}:{port}{path}"

    def _processed(self) -> int:
        bodies = [_get_json(self._worker_url(port, "/healthz")) for port in self.web_ports]
        return sum(body.get("events", 0) for body in bodies if body)

    def _check_workers(self) -> None:
        self.children.check()

    def _wait(self, predicate: Callable[[], Any], timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            self.children.check()
            if time.monotonic() > deadline:
                raise CxpulseError(f"{failure} (logs: {self.options.run_dir / 'logs'})")
            time.sleep(0.5)

    def stop(self) -> None:
        self._stop.set()
        with self.console.status("stopping the processes the demo started ..."):
            self.children.stop_all()
            if self.own_broker is not None:
                self.own_broker.stop()


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> None:
    """Run the demo end to end; processes it started are stopped on the way out."""
    demo = Demo(settings, options, console)
    try:
        demo.step("Kafka", demo.ensure_broker)
        demo.step("topics", demo.ensure_topics)
        demo.step(f"{options.workers} worker(s)", demo.start_workers)
        if options.ops:
            demo.step("Prometheus, Alertmanager, alert router", demo.start_ops)
        demo.step("supervisor console", demo.start_console)
        demo.follow_alerts()
        truth = demo.simulate()
        demo.summary(truth, demo.drain())
        if options.keep_running:
            console.print("\nThe pipeline keeps running; press [bold]Ctrl-C[/] to stop it."
                          + (f" The supervisor console: [bold]{demo.console_url}[/]" if demo.console_url else ""))
            while True:
                demo._show_alerts(timeout=1.0)
                demo._check_workers()
    finally:
        demo.stop()


def _summary_data(truth: dict[str, Any], alerts: list[dict[str, Any]], quality: Any, processed: int,
                  ops_urls: dict[str, str], churn: dict[str, Any]) -> dict[str, Any]:
    firing = _firing(alerts)
    overall = churn["overall"]
    return {
        "seed": truth.get("seed"),
        "events": truth["emitted"]["events"],
        "customers": truth["customers"],
        "processed": processed,
        "alerts": len(alerts),
        "alerts_by_rule": dict(Counter(alert["rule"] for alert in firing)),
        # Alert quality against who left (the hidden churn model): docs/backtest.md.
        "churn": {
            "left": (truth.get("churn") or {}).get("left"),
            "cutoff": churn["period"]["cutoffs"][0],
            "horizon_days": churn["period"]["horizon_days"],
            "customers": overall["customers"],
            "left_within_horizon": overall["churned"],
            "rate": overall["rate"],
            "auc": overall["auc"],
            "at_risk_or_worse": overall["at_risk_or_worse"],
            "rules": {rule: {"precision": cell["precision"], "alerted": cell["alerted_customers"],
                             "left": cell["churned"], "lift": cell["lift"]}
                      for rule, cell in churn["rules"].items() if cell["alerted_customers"]},
            "leavers_alerted_before": churn["lead_time"]["share_alerted"],
        },
        # The older check, under its honest name: did the rules fire where the simulator put struggles?
        "struggle_check": {
            "struggling": len(quality.struggling),
            "alerted_customers": len(quality.alerted),
            "precision": quality.precision,
            "recall": quality.recall,
            "false_positives": sorted(quality.false_positives)[:50],
            "missed": sorted(quality.missed)[:50],
        },
        "outage_detected": quality.outage_detected,
        "delivered_to_alertmanager": bool(ops_urls),
    }


def _days(days: float) -> str:
    return f"{days:g} d" if days >= 1 else f"{days * 24:g} h"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _churn_line(churn: dict[str, Any]) -> str:
    overall = churn["overall"]
    auc = overall["auc"]
    flagged = overall["at_risk_or_worse"]
    lead = churn["lead_time"]
    return (
        f"Against who left (the simulator's hidden churn model): of {overall['customers']} customers active at "
        f"mid-period, {overall['churned']} ({_pct(overall['rate'])}) left within the next {churn['horizon_text']}; "
        f"the score then ranked them with ROC AUC {'n/a' if auc is None else f'{auc:.3f}'}; at risk or worse: "
        f"precision {_pct(flagged['precision'])}, recall {_pct(flagged['recall'])}. {_pct(lead['share_alerted'])} "
        f"of those who left had an alert in the {churn['horizon_text']} before."
    )


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL built by us
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _colour(alert: dict[str, Any], line: str) -> str:
    style = {"critical": "bold red", "warning": "yellow"}.get(alert.get("severity", ""), "")
    return f"[{style}]{_escape(line)}[/]" if style else _escape(line)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _firing(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each firing alert once: an incident updated with its count is one alert."""
    return list({alert.get("alert_id"): alert for alert in alerts if alert.get("status") != "resolved"}.values())


def _rules_table(alerts: list[dict[str, Any]], churn: dict[str, Any]) -> Table:
    counts = Counter((alert.get("rule"), alert.get("severity")) for alert in _firing(alerts))
    table = Table(title=f"Alerts by rule, and how many alerted customers left within {churn['horizon_text']}",
                  title_justify="left")
    for column in ("rule", "warning", "critical", "alerted customers", "left", "precision"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for rule in sorted({rule for rule, _ in counts if rule is not None}):
        cell = churn["rules"].get(rule, {})
        judged = cell.get("alerted_customers") or 0
        table.add_row(rule, str(counts[(rule, "warning")]), str(counts[(rule, "critical")]),
                      str(judged) if judged else "-", str(cell.get("churned", "-")) if judged else "-",
                      _pct(cell.get("precision")) if judged else "-")
    return table


def _quality_line(quality: Any) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    outage = {True: "detected", False: "[red]missed[/]", None: "none simulated"}[quality.outage_detected]
    return (
        f"Struggle check (do the rules fire where the simulator put struggles? not a measure of who leaves): "
        f"precision {pct(quality.precision)} "
        f"({len(quality.true_positives)} of {len(quality.alerted)} alerted customers were struggling), "
        f"recall {pct(quality.recall)} ({len(quality.complete - quality.missed)} of {len(quality.complete)} "
        f"struggling customers alerted); outage incident {outage}."
    )
