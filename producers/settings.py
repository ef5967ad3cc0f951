"""Settings of the producers: ``[producer]`` (simulate, produce) and ``[gateway]`` in the config file."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["GatewaySettings", "GatewayToken", "MIN_TOKEN_CHARS", "ProducerSettings"]

MIN_TOKEN_CHARS = 24


class GatewayToken(BaseModel):
    """One bearer token the gateway accepts: its SHA-256 (preferred) or the token itself.

    ``name`` identifies the token in logs and configuration (never the token itself).
    A ``revoked`` token, or one without the ``ingest`` scope, is known but refused (403).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    """Names the token in logs and metrics (never the token itself)."""
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    """Hex SHA-256 of the token (preferred: the token itself is not in the file)."""
    token: SecretStr | None = None
    """The token itself (at least 24 characters), when no sha256 is given."""
    scopes: list[Literal["ingest"]] = Field(default_factory=lambda: ["ingest"])
    """What the token may do: ingest."""
    revoked: bool = False
    """A revoked token is known but refused (403)."""

    @model_validator(mode="after")
    def _one_secret(self) -> "GatewayToken":
        if (self.sha256 is None) == (self.token is None):
            raise ValueError("give exactly one of sha256 (hex digest of the token) or token")
        if self.token is not None and len(self.token.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"a token must have at least {MIN_TOKEN_CHARS} characters")
        return self


class GatewaySettings(BaseModel):
    """How ``cxpulse ingest serve`` listens, whom it lets in and how much it takes."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address the gateway listens on."""
    port: int = Field(8080, ge=1, le=65535)
    """Port the gateway listens on."""
    tokens: list[GatewayToken] = Field(default_factory=list)
    """Bearer tokens the gateway accepts, one [[gateway.tokens]] table each (below)."""
    # One request: the body size before parsing and the number of events in an array.
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    """The largest request body, refused before parsing (413)."""
    max_batch_events: int = Field(500, ge=1, le=10_000)
    """The most events in one JSON array."""
    # Per token: events per second refilled, and the bucket's size (a burst). 0 = unlimited.
    rate_limit_events_per_second: float = Field(1000, ge=0)
    """Events per second refilled per token; 0: unlimited."""
    rate_limit_burst: int = Field(2000, ge=1)
    """The token bucket's size (a burst); at least max_batch_events."""
    # How long a request waits for the broker's acknowledgement before answering 503.
    delivery_timeout_seconds: float = Field(15, gt=0, le=300)
    """How long a request waits for the broker's acknowledgement before answering 503."""
    # The producer's linger: concurrent requests share a batch to the broker.
    linger_ms: int = Field(2, ge=0, le=1000)
    """The producer's linger: concurrent requests share a batch to the broker."""
    # (customer_id, event_id) pairs delivered recently; a retry of one is not produced again.
    dedup_cache_size: int = Field(100_000, ge=0)
    """Recently delivered (customer_id, event_id) pairs; a retried one is not produced again."""
    health_timeout_seconds: float = Field(3, gt=0, le=60)
    """How long /healthz waits for the broker."""
    shutdown_timeout_seconds: float = Field(20, gt=0, le=600)
    """How long a stopping gateway lets requests in flight finish."""

    @model_validator(mode="after")
    def _burst_fits_a_batch(self) -> "GatewaySettings":
        if self.rate_limit_events_per_second and self.rate_limit_burst < self.max_batch_events:
            raise ValueError("rate_limit_burst must be at least max_batch_events (a full batch must fit)")
        return self


class ProducerSettings(BaseModel):
    """How ``cxpulse simulate`` and ``cxpulse produce`` write to Kafka (always ``acks=all``, idempotent)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    linger_ms: int = Field(20, ge=0, le=60_000)
    """How long the producer waits to fill a batch."""
    batch_size: int = Field(256 * 1024, ge=1024)
    """The largest batch per partition, in bytes."""
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = None
    """gzip, snappy, lz4 or zstd; none by default."""
    # How long one event may wait for its acknowledgement, retries included.
    delivery_timeout_seconds: float = Field(120, ge=31)
    """How long one event may wait for its acknowledgement, retries included."""
    # How long a send may block when the buffer is full or the topic's metadata is unknown.
    max_block_seconds: float = Field(60, gt=0)
    """How long a send may block while the buffer is full or the topic's metadata is unknown."""
