"""All of cxpulse's settings in one frozen class, read from a TOML file and the environment.

Precedence, highest first: explicit arguments, environment variables
(``CXPULSE_<SECTION>__<FIELD>``, plus ``KAFKA_BOOTSTRAP_SERVERS``), the config file
(``--config``, else ``$CXPULSE_CONFIG``, else ``./cxpulse.toml`` when present), defaults.
"""

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from cxpulse.alerts.settings import AlertsSettings, ConsoleSettings, OpsSettings
from cxpulse.errors import ConfigError
from cxpulse.settings_errors import ENV_PREFIX, explain, unknown_variables
from cxpulse.processors.archive.settings import ArchiveSettings
from cxpulse.processors.backtest.settings import BacktestSettings
from cxpulse.processors.engine.limits import RECORD_OVERHEAD, state_bounds
from cxpulse.processors.engine.settings import EngineSettings
from cxpulse.processors.worker.settings import WorkerSettings
from cxpulse.producers.mapping.settings import SourcesSettings
from cxpulse.producers.settings import GatewaySettings, ProducerSettings

__all__ = [
    "BrokerSettings",
    "KafkaSettings",
    "MetricsSettings",
    "Settings",
    "TopicSettings",
    "ValidationSettings",
    "load_settings",
]

CONFIG_ENV = "CXPULSE_CONFIG"
DEFAULT_CONFIG_FILE = "cxpulse.toml"


def _xdg(kind: str, default: str) -> Path:
    return Path(os.environ.get(kind) or Path.home() / default) / "cxpulse"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class KafkaSettings(_Section):
    """How every client reaches the brokers; security settings go to every client."""

    bootstrap_servers: str = "127.0.0.1:9092"
    """The brokers, a comma-separated host:port list. KAFKA_BOOTSTRAP_SERVERS sets it too (and wins)."""
    client_id: str = "cxpulse"
    """The client id every cxpulse client sends to the brokers (shows in broker logs and quotas)."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL; given to every client."""
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with a SASL protocol (none: PLAIN)."""
    sasl_username: str | None = None
    """The SASL user."""
    sasl_password: SecretStr | None = None
    """The SASL password; keep it out of files: set CXPULSE_KAFKA__SASL_PASSWORD. Never printed."""
    ssl_cafile: Path | None = None
    """CA certificate (PEM) that signed the brokers' certificates; none: the system's CAs."""
    ssl_certfile: Path | None = None
    """Client certificate (PEM), for mutual TLS only."""
    ssl_keyfile: Path | None = None
    """Client private key (PEM), for mutual TLS only."""
    ssl_check_hostname: bool = True
    """Check that a broker's certificate names its host; keep it on outside a lab."""

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        addresses = [part.strip() for part in value.split(",") if part.strip()]
        if not addresses:
            raise ValueError("must name at least one broker as host:port, e.g. 127.0.0.1:9092")
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"must be a comma-separated list of host:port, e.g. 127.0.0.1:9092 (not {address!r})")
        return value


class TopicSettings(_Section):
    """Topic names and how ``cxpulse topics create`` makes them."""

    events: str = "cx.events"
    """The topic producers write events to and the workers read."""
    alerts: str = "cx.alerts"
    """The topic the workers write alerts to (read by the router, the console, replay --diff)."""
    scores: str = "cx.scores"
    """The compacted topic of each customer's latest score snapshot."""
    dlq: str = "cx.events.dlq"
    """The dead-letter topic: invalid records with the reason (created with max.message.bytes = 4 MiB)."""
    warnings: str = "cx.agent-warnings"
    """Agent warnings written at contact starts (key: customer_id), for CTI/CRM integrations and the console."""
    partitions: int = Field(6, ge=1)
    """Partitions of the topics `cxpulse topics create` makes; the most workers that can share the load."""
    replication_factor: int = Field(1, ge=1)
    """Replicas of each topic `cxpulse topics create` makes (3 on a production cluster)."""


class BrokerSettings(_Section):
    """The local single-node Kafka broker that ``cxpulse kafka up`` runs without Docker."""

    kafka_version: str = "4.1.1"
    """Apache Kafka 4.x version of the local broker, resolved from deploy/kafka/pom.xml with Maven."""
    host: str = "127.0.0.1"
    """Address the local broker listens on."""
    port: int = Field(9092, ge=1, le=65535)
    """The local broker's client port."""
    # Not Kafka's usual 9093: Alertmanager listens there by default on the same machine.
    controller_port: int = Field(9094, ge=1, le=65535)
    """The KRaft controller's port (not 9093: Alertmanager's usual port)."""
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "kafka")
    """Data, logs, config and pid file of the local broker; `cxpulse kafka wipe` deletes it ($XDG_DATA_HOME)."""
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "kafka")
    """The Kafka jars, per version, outside the repository ($XDG_CACHE_HOME)."""
    heap: str = "512m"
    """JVM heap of the local broker (-Xmx and -Xms)."""
    start_timeout_seconds: float = Field(90, gt=0)
    """How long `cxpulse kafka up` waits for the broker to answer."""

    @field_validator("data_dir", "cache_dir")
    @classmethod
    def _expand_home(cls, path: Path) -> Path:
        return path.expanduser()  # "~/..." in the config file means the user's home


class MetricsSettings(_Section):
    """Label bounds for Prometheus metrics: service types beyond this list count as ``other``."""

    service_types: list[str] = Field(
        default_factory=lambda: [
            "billing",
            "outage",
            "repair",
            "installation",
            "account",
            "metering",
            "payment",
            "relocation",
        ]
    )
    """Service types that get their own metric label; others are counted as `other` (bounded label sets)."""


class ValidationSettings(_Section):
    """What makes an otherwise well-formed event invalid at the moment it is read."""

    max_future_seconds: float = Field(86400, gt=0)
    """An event whose occurred_at is further ahead of the reader's clock than this goes to the DLQ."""


class Settings(BaseSettings):
    """Every setting of cxpulse; sections mirror the config file's tables."""

    model_config = SettingsConfigDict(
        env_prefix="CXPULSE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)

    @model_validator(mode="after")
    def _state_records_fit(self) -> "Settings":
        problem = state_records_problem(self.engine, self.worker)
        if problem is not None:
            raise ValueError(problem)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, _KafkaAddressSource(settings_cls), env_settings]
        path = _config_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _with_values(settings: str, engine: EngineSettings) -> str:
    """``engine.a x engine.b`` with their values: ``engine.a = 32 x engine.b = 64``."""
    import re

    return re.sub(r"engine\.(\w+)", lambda m: f"{m.group(0)} = {getattr(engine, m.group(1))}", settings)


def state_records_problem(engine: EngineSettings, worker: WorkerSettings) -> str | None:
    """Why the largest state record (docs/rules.md, "Limits") would not fit the changelog topics, or None.

    A changelog record holds one state and a key; ``worker.changelog_max_message_bytes``
    must take the largest state plus ``RECORD_OVERHEAD`` bytes, or the worker would stop on
    a record it can never write.
    """
    bounds = state_bounds(engine)
    limit, need = worker.changelog_max_message_bytes, bounds.record_bytes
    if need <= limit:
        return None
    largest = bounds.largest
    kind = "a customer" if largest is bounds.customer else "an incident"
    part = _with_values(largest.largest_part(), engine)
    ceiling = _CHANGELOG_CEILING
    if need > ceiling:
        return (f"{part}: {kind} state can take {largest.total:,} bytes, more than any changelog record "
                f"(worker.changelog_max_message_bytes is at most {ceiling:,}, with {RECORD_OVERHEAD:,} bytes of "
                f"record overhead); lower it (docs/rules.md, \"Limits\")")
    return (f"worker.changelog_max_message_bytes = {limit:,} is too small: {kind} state can take "
            f"{largest.total:,} bytes with these engine settings, {need:,} with {RECORD_OVERHEAD:,} bytes of record "
            f"overhead; raise it to at least {need:,} or lower {part} (docs/rules.md, \"Limits\")")


def _field_maximum(model: type[BaseModel], name: str) -> int:
    from annotated_types import Le

    for rule in model.model_fields[name].metadata:
        if isinstance(rule, Le) and isinstance(rule.le, int):
            return rule.le
    raise LookupError(f"{model.__name__}.{name} has no integer maximum")


_CHANGELOG_CEILING = _field_maximum(WorkerSettings, "changelog_max_message_bytes")


class _KafkaAddressSource(PydanticBaseSettingsSource):
    """``KAFKA_BOOTSTRAP_SERVERS``, the name every Kafka tool knows, sets kafka.bootstrap_servers."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        address = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        return {"kafka": {"bootstrap_servers": address}} if address else {}


_explicit_config: Path | None = None


def _config_path() -> Path | None:
    if _explicit_config is not None:
        return _explicit_config
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; ``config`` names a TOML file that must exist.

    Raises :class:`ConfigError` with a one-line message when the file is missing or a
    value is invalid; a bad value from the environment is reported with its variable.
    """
    global _explicit_config
    path = config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    unknown = unknown_variables(Settings)
    if unknown:
        sections = ", ".join(Settings.model_fields)
        raise ConfigError(f"{unknown[0]} is not a setting: variables are {ENV_PREFIX}<SECTION>__<FIELD> "
                          f"with a section of {sections} (see docs/configuration.md)")
    _explicit_config = path
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        from_env = explain(Settings, first["loc"], first["msg"])
        if from_env:
            raise ConfigError(from_env) from None
        where = ".".join(str(part) for part in first["loc"])
        if not where:  # a rule across sections (its message names the settings)
            raise ConfigError(f"invalid settings: {first['msg'].removeprefix('Value error, ')}") from None
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    except SettingsError as exc:  # an environment value that is not the JSON a list or table needs
        raise ConfigError(_unparsable(str(exc))) from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    finally:
        _explicit_config = None


def _unparsable(message: str) -> str:
    import re

    field = re.search(r'field "(\w+)"', message)
    section = field.group(1) if field else ""
    prefix = f"{ENV_PREFIX}{section.upper()}"
    names = sorted(name for name in os.environ if name.upper() == prefix or name.upper().startswith(prefix + "__"))
    shown = ", ".join(f"{name}={os.environ[name]!r}" for name in names) or f"a {prefix}__... variable"
    return (f"{shown}: not valid JSON; lists and tables from the environment are JSON, "
            f"e.g. CXPULSE_METRICS__SERVICE_TYPES='[\"billing\", \"outage\"]'")
