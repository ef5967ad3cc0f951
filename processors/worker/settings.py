"""Settings of the faust worker (``[worker]`` in the config file)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["WorkerSettings"]

_STORES = ("memory://",)


class WorkerSettings(BaseModel):
    """How ``cxpulse worker`` runs; the engine's own numbers live in ``[engine]``.

    The batch settings trade latency for throughput: a batch closes when it holds
    ``batch_max`` events or ``batch_within_seconds`` after its first event.
    ``state_cache`` customers (the most recently changed) are kept decoded in memory.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    app_id: str = Field("cxpulse", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    """The faust app id: the workers' consumer group and the prefix of their changelog and contacts topics."""
    web_host: str = "127.0.0.1"
    """Address of the worker's web server (read API, /healthz, /metrics)."""
    web_port: int = Field(6066, ge=1, le=65535)
    """Port of the worker's web server; each worker on a host needs its own."""
    web_enabled: bool = True
    """Serve the read API and /metrics at all."""
    store: str = "memory://"
    """faust table store; memory:// (state is rebuilt from the changelog at start; rocksdb:// is not supported yet)."""
    data_dir: str = "var/worker"
    """The worker's data directory (faust's working files); --data-dir sets it per process."""
    batch_max: int = Field(1000, ge=1, le=100_000)
    """A batch closes at this many events ..."""
    batch_within_seconds: float = Field(0.02, gt=0, le=10)
    """... or this long after its first event."""
    sla_check_seconds: float = Field(1.0, gt=0)
    """How often SLA due times are checked against the stream clock."""
    commit_interval_seconds: float = Field(1.0, gt=0)
    """How often consumed offsets are committed."""
    session_timeout_seconds: float = Field(30.0, ge=10)
    """A worker that stops answering loses its partitions to the others after this long."""
    producer_linger_seconds: float = Field(0.005, ge=0)
    """How long the worker's producer waits to fill a record batch."""
    producer_max_batch_bytes: int = Field(1_048_576, ge=16_384)
    """The largest record batch the worker's producer sends."""
    max_poll_records: int = Field(2000, ge=1)
    """Records one poll of the consumer returns at most."""
    state_cache: int = Field(5_000, ge=0)
    """Customers kept decoded in memory (the most recently changed); the rest stay as bytes."""
    state_delta_min_bytes: int = Field(4096, ge=0)
    """A customer whose stored state is at least this many bytes is written as the operations applied since its last whole write (a delta under a second key, rebased when rewriting it whole pays), not whole for every batch (docs/reliability.md, "How a busy customer's state is stored"); 0: always whole."""
    stream_buffer_maxsize: int = Field(8192, ge=1)
    """Records waiting for a batch before the consumer pauses."""
    fast_drain: bool = True
    """A cheaper faust consumer loop (docs/benchmarks.md, "Worker")."""
    direct_delivery: bool = True
    """Events and contacts go from the consumer straight to the batch processors (no faust agents)."""
    write_retries: int = Field(3, ge=0, le=100)
    """How often a record batch the broker rejected or did not acknowledge is sent again before the worker stops (non-zero exit, one-line reason); nothing is committed past it meanwhile."""
    write_retry_backoff_seconds: float = Field(0.5, gt=0, le=60)
    """The wait before the first resend of a failed record batch; it doubles with each attempt (at most 5 s)."""
    changelog_max_message_bytes: int = Field(8_388_608, ge=1_048_588, le=67_108_864)
    """max.message.bytes of the table changelog topics the worker creates; must take the largest state the engine settings allow plus 1,024 bytes (4,345,561 with the defaults, docs/rules.md "Limits"), which Kafka's 1 MiB default does not. Existing topics keep theirs."""
    allow_untested_versions: bool = False
    """Start even when the installed faust-streaming or aiokafka is not the version the worker's overrides were tested with (docs/reliability.md)."""
    uvloop: bool = True
    """Run the event loop on uvloop (--no-uvloop turns it off per process)."""
    read_without_token_from_loopback: bool = False
    """The read API (/customers/{id}, /v1/customers/{id}/brief, /v1/customers/briefs) answers only a bearer token of [gateway] tokens with the read scope; true lets requests from the loopback address in without one (a single-machine setup; docs/security.md)."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins (e.g. "https://desk.example.com", or "*") whose browser pages may call the read API."""
    brief_batch_max: int = Field(100, ge=1, le=1000)
    """Customer ids in one POST /v1/customers/briefs."""
    route_timeout_seconds: float = Field(5.0, gt=0, le=60)
    """How long a batch part sent to the worker that owns it may take."""

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value.startswith("rocksdb://"):
            # faust's RocksDB store picks its partition database from the current event;
            # the worker writes one state per customer per batch, outside any event.
            raise ValueError("rocksdb:// is not supported by the batched worker yet; use memory:// "
                             "(state is rebuilt from the changelog on start)")
        if not value.startswith(_STORES):
            raise ValueError(f"must start with one of {', '.join(_STORES)}")
        return value
