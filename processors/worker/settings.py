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

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field("cxpulse", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    web_enabled: bool = True
    store: str = "memory://"
    data_dir: str = "var/worker"
    batch_max: int = Field(1000, ge=1, le=100_000)
    batch_within_seconds: float = Field(0.02, gt=0, le=10)
    sla_check_seconds: float = Field(1.0, gt=0)
    commit_interval_seconds: float = Field(1.0, gt=0)
    session_timeout_seconds: float = Field(30.0, ge=10)
    producer_linger_seconds: float = Field(0.005, ge=0)
    producer_max_batch_bytes: int = Field(1_048_576, ge=16_384)
    max_poll_records: int = Field(2000, ge=1)
    state_cache: int = Field(20_000, ge=0)
    stream_buffer_maxsize: int = Field(8192, ge=1)
    fast_drain: bool = True
    direct_delivery: bool = True
    uvloop: bool = True
    # The read API (/customers/{id}, /v1/customers/{id}/brief, /v1/customers/briefs) answers
    # only a bearer token of [gateway] tokens with the "read" scope; true lets requests from
    # the loopback address in without one (a single-machine setup; docs/security.md).
    read_without_token_from_loopback: bool = False
    # Origins (e.g. "https://desk.example.com", or "*") whose browser pages may call the read API.
    cors_origins: list[str] = Field(default_factory=list)
    brief_batch_max: int = Field(100, ge=1, le=1000)  # customer ids in one POST /v1/customers/briefs
    route_timeout_seconds: float = Field(5.0, gt=0, le=60)  # a batch part sent to the worker that owns it

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
