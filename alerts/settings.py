"""Settings of alert delivery (``[alerts]`` in the config file)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AlertsSettings", "ConsoleSettings", "OpsSettings"]


class AlertsSettings(BaseModel):
    """How ``cxpulse alerts route`` delivers alerts from the alerts topic to Alertmanager.

    An alert stays active in Alertmanager for ``resolve_timeout_seconds`` after the
    worker emitted it (its ``endsAt``), unless the engine resolves it earlier. The router
    re-sends its active alerts every ``resend_seconds``, so an Alertmanager that
    restarted (it keeps alerts in memory only) has them back within that time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    alertmanager_url: str = "http://127.0.0.1:9093"
    """Where `cxpulse alerts route` delivers alerts: Alertmanager's base URL."""
    group_id: str = Field("cxpulse-alert-router", min_length=1)
    """The router's consumer group on the alerts topic."""
    resolve_timeout_seconds: float = Field(4 * 3600.0, gt=0)
    """An alert ends this long after it was emitted (its endsAt), unless the engine resolves it first."""
    customer_url: str = ""
    """Link in each customer alert to a page of your own; {customer_id} is replaced. Empty: the console's customer view when [console] public_url is set, else no link (the worker's /customers/{id} needs a read token, so a browser following a link there would get 401)."""
    batch_max: int = Field(500, ge=1, le=10_000)
    """Alerts per request to Alertmanager."""
    request_timeout_seconds: float = Field(10.0, gt=0)
    """How long one request to Alertmanager may take."""
    retry_initial_seconds: float = Field(0.5, gt=0)
    """Backoff while Alertmanager does not answer: it starts here and doubles ..."""
    retry_max_seconds: float = Field(30.0, gt=0)
    """... up to this."""
    resend_seconds: float = Field(60.0, gt=0)
    """Active alerts are sent again this often (Alertmanager keeps them in memory only)."""
    resend_max_alerts: int = Field(20_000, ge=0)
    """Active alerts the router remembers for re-sending."""
    # The router's own /metrics; port 0 turns it off.
    metrics_host: str = "127.0.0.1"
    """Address of the router's own /metrics."""
    metrics_port: int = Field(9101, ge=0, le=65535)
    """Port of the router's own /metrics; 0 turns it off."""

    @field_validator("alertmanager_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("customer_url")
    @classmethod
    def _customer_placeholder(cls, value: str) -> str:
        if value and "{customer_id}" not in value:
            raise ValueError('must contain "{customer_id}" (or be empty for no link)')
        return value


class OpsSettings(BaseModel):
    """``cxpulse ops up``: Prometheus, Alertmanager and a webhook sink from the local packages.

    Alertmanager listens where ``[alerts] alertmanager_url`` points. Empty target lists
    mean: the local defaults (one worker on ``[worker] web_port``; no gateway).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address Prometheus and the webhook sink of `cxpulse ops up` listen on."""
    prometheus_port: int = Field(9090, ge=1, le=65535)
    """Port of the local Prometheus."""
    sink_port: int = Field(9099, ge=0, le=65535)  # the stand-in webhook receiver; 0: none
    """Port of `cxpulse alerts sink`, the stand-in receiver deploy/alertmanager's webhooks point at; 0: none."""
    data_dir: str = "var/ops"
    """Run directory of the local Prometheus and Alertmanager (data, rendered configs, logs)."""
    deploy_dir: str = ""  # the repository's deploy/ folder when empty
    """Where the Prometheus and Alertmanager configs are read; empty: the repository's deploy/ folder."""
    worker_targets: list[str] = Field(default_factory=list)
    """host:port of each worker's web port to scrape; empty: 127.0.0.1:<worker.web_port>."""
    gateway_targets: list[str] = Field(default_factory=list)
    """host:port of each ingest gateway to scrape."""
    scrape_interval_seconds: float = Field(15.0, gt=0)
    """Prometheus' scrape and rule evaluation interval."""
    start_timeout_seconds: float = Field(60.0, gt=0)
    """How long `cxpulse ops up` waits for Prometheus and Alertmanager to answer."""


class ConsoleSettings(BaseModel):
    """``cxpulse console serve``: the supervisor's console in the browser.

    It serves customer data, so it listens on loopback by default; bound to any other
    address it requires a bearer token with the ``console`` scope from ``[gateway] tokens``
    (``require_token`` forces it either way). It shows the alerts of the last
    ``lookback_seconds`` (an alert's lifetime in Alertmanager by default) and follows the
    alerts and agent-warnings topics from there; Alertmanager's view (receivers, silences,
    inhibition) is read every ``alertmanager_poll_seconds``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address the console listens on; beyond loopback it requires a token with the console scope."""
    port: int = Field(9102, ge=0, le=65535)
    """Port the console listens on; 0: any free port."""
    require_token: bool | None = None
    """Require a bearer token with the console scope on every /api request; none: only when host is not a loopback address."""
    lookback_seconds: float = Field(4 * 3600.0, gt=0)
    """At start the console reads the alerts written this long before now (by default an alert's lifetime in Alertmanager)."""
    alertmanager_poll_seconds: float = Field(2.0, gt=0)
    """How often Alertmanager's alerts (receivers, silences, inhibition) and silences are read."""
    push_interval_seconds: float = Field(0.5, gt=0)
    """At most one update is pushed to each browser this often."""
    max_cards: int = Field(200, ge=1, le=5000)
    """Cards shown per browser; the rest are counted."""
    acknowledge_seconds: float = Field(4 * 3600.0, gt=0)
    """How long an acknowledgement silences a card's open alerts."""
    silence_seconds: float = Field(24 * 3600.0, gt=0)
    """The default length of a silence made from the console."""
    warning_seconds: float = Field(15 * 60.0, gt=0)
    """An agent warning stays on its card this long."""
    timeline_concurrency: int = Field(2, ge=1, le=16)
    """Customer timelines read from Kafka at once (each replays the customer's partition)."""
    public_url: str = ""
    """Where supervisors' browsers reach the console (e.g. behind a proxy); set, every customer alert links to its customer view there. Empty: alerts carry no console link."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("http://", "https://")) or "#" in value or "?" in value:
            raise ValueError("must be an http:// or https:// URL with no query or fragment (or empty)")
        return value if value.endswith("/") else value + "/"
