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

    model_config = ConfigDict(extra="forbid", frozen=True)

    alertmanager_url: str = "http://127.0.0.1:9093"
    group_id: str = Field("cxpulse-alert-router", min_length=1)
    resolve_timeout_seconds: float = Field(4 * 3600.0, gt=0)
    # Link in every customer alert to a page of your own; "{customer_id}" is replaced. Empty: the
    # console's customer view when [console] public_url is set, else no link (the worker's
    # /customers/{id} needs a read token, so a browser following a link there would get 401).
    customer_url: str = ""
    batch_max: int = Field(500, ge=1, le=10_000)
    request_timeout_seconds: float = Field(10.0, gt=0)
    retry_initial_seconds: float = Field(0.5, gt=0)
    retry_max_seconds: float = Field(30.0, gt=0)
    resend_seconds: float = Field(60.0, gt=0)
    resend_max_alerts: int = Field(20_000, ge=0)
    # The router's own /metrics; port 0 turns it off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9101, ge=0, le=65535)

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

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    prometheus_port: int = Field(9090, ge=1, le=65535)
    sink_port: int = Field(9099, ge=0, le=65535)  # the stand-in webhook receiver; 0: none
    data_dir: str = "var/ops"
    deploy_dir: str = ""  # the repository's deploy/ folder when empty
    worker_targets: list[str] = Field(default_factory=list)
    gateway_targets: list[str] = Field(default_factory=list)
    scrape_interval_seconds: float = Field(15.0, gt=0)
    start_timeout_seconds: float = Field(60.0, gt=0)


class ConsoleSettings(BaseModel):
    """``cxpulse console serve``: the supervisor's console in the browser.

    It serves customer data, so it listens on loopback by default; bound to any other
    address it requires a bearer token with the ``console`` scope from ``[gateway] tokens``
    (``require_token`` forces it either way). It shows the alerts of the last
    ``lookback_seconds`` (an alert's lifetime in Alertmanager by default) and follows the
    alerts and agent-warnings topics from there; Alertmanager's view (receivers, silences,
    inhibition) is read every ``alertmanager_poll_seconds``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(9102, ge=0, le=65535)
    require_token: bool | None = None  # None: only when host is not a loopback address
    lookback_seconds: float = Field(4 * 3600.0, gt=0)
    alertmanager_poll_seconds: float = Field(2.0, gt=0)
    push_interval_seconds: float = Field(0.5, gt=0)  # at most one update per browser this often
    max_cards: int = Field(200, ge=1, le=5000)  # shown per browser (the rest are counted)
    acknowledge_seconds: float = Field(4 * 3600.0, gt=0)  # how long an acknowledgement silences a card's alerts
    silence_seconds: float = Field(24 * 3600.0, gt=0)  # the default length of a silence from the console
    warning_seconds: float = Field(15 * 60.0, gt=0)  # an agent warning stays on its card this long
    timeline_concurrency: int = Field(2, ge=1, le=16)  # customer timelines read from Kafka at once
    # Where supervisors' browsers reach the console (e.g. behind a proxy); set, every customer
    # alert links to its customer view there. Empty: alerts carry no console link.
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("http://", "https://")) or "#" in value or "?" in value:
            raise ValueError("must be an http:// or https:// URL with no query or fragment (or empty)")
        return value if value.endswith("/") else value + "/"
