"""Settings of the producers: ``[producer]`` (simulate, produce) and ``[gateway]`` in the config file."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["ChurnSettings", "GatewaySettings", "GatewayToken", "MIN_TOKEN_CHARS", "ProducerSettings"]

MIN_TOKEN_CHARS = 24

Scope = Literal["ingest", "read", "console"]  # what a gateway token may do


class GatewayToken(BaseModel):
    """One bearer token the gateway accepts: its SHA-256 (preferred) or the token itself.

    ``name`` identifies the token in logs and configuration (never the token itself).
    Scopes: ``ingest`` sends events to the gateway; ``read`` reads customer data from the
    worker's read API (``/customers/{id}``, the agent brief API); ``console`` lets a token
    into ``cxpulse console serve`` (the supervisor's console). A token may have several. A
    ``revoked`` token, or one without the scope a request needs, is known but refused (403).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    """Names the token in logs and metrics (never the token itself)."""
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    """Hex SHA-256 of the token (preferred: the token itself is not in the file)."""
    token: SecretStr | None = None
    """The token itself (at least 24 characters), when no sha256 is given."""
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["ingest"]))
    """What the token may do: ingest (the gateway), read (the worker's read API), console (`cxpulse console serve`); one or several."""
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
    # Slow clients: a request head (request line and headers) must be complete this long after
    # the connection opened or its previous answer (also how long an idle connection is kept),
    # and a body this long after its head; then the connection is closed (a body gets 408).
    header_timeout_seconds: float = Field(10, gt=0, le=3600)
    """A request's head (request line and headers) must be complete this long after the connection opened or its previous answer (also how long an idle connection is kept); then the connection is closed."""
    body_timeout_seconds: float = Field(30, gt=0, le=3600)
    """A request's body must be complete this long after its head; then it gets 408 and the connection is closed."""
    # Open connections at once; one more is answered 503 and closed at once.
    max_connections: int = Field(512, ge=1, le=100_000)
    """Open connections at once; one more is answered 503 and closed."""
    # Requests without a valid token (a missing, unknown or revoked one, and GET /healthz,
    # /metrics, /openapi.json), per client address: a token bucket, then 429. 0 = unlimited.
    unauthenticated_per_second: float = Field(5, ge=0)
    """Requests without a valid token (a missing, unknown or revoked one; GET /healthz, /metrics, /openapi.json) refilled per second per client address, then 429; 0: unlimited."""
    unauthenticated_burst: int = Field(50, ge=1)
    """The per-address bucket's size (a burst) of requests without a valid token."""
    # Client addresses whose buckets are kept (least recently seen forgotten first).
    unauthenticated_addresses: int = Field(10_000, ge=1)
    """Client addresses whose buckets are kept (the least recently seen are forgotten first)."""

    @model_validator(mode="after")
    def _burst_fits_a_batch(self) -> "GatewaySettings":
        if self.rate_limit_events_per_second and self.rate_limit_burst < self.max_batch_events:
            raise ValueError("rate_limit_burst must be at least max_batch_events (a full batch must fit)")
        return self


class ChurnSettings(BaseModel):
    """The simulator's hidden churn model (``cxpulse simulate --churn``; docs/producers.md, "Churn").

    A customer leaves at the rate ``frailty x segment factor x (base_per_day +
    experience_per_day x (exp(steepness x F) - 1))`` per day, at most ``max_per_day``,
    where ``F`` is the customer's frustration: points for what happened to it (waits,
    repeats, unresolved calls, complaints, broken promises, bad ratings) fading with
    ``half_life_days``. None of it is the engine's: no weight, threshold or score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    # Leaving for reasons the events never show (moved, price, a competitor's offer).
    base_per_day: float = Field(0.0005, ge=0, le=1)
    """Daily rate of leaving for reasons the events never show (moved, price, a competitor's offer)."""
    experience_per_day: float = Field(0.003, ge=0, le=10)
    """Daily rate added by frustration: experience_per_day x (exp(steepness x F) - 1)."""
    steepness: float = Field(1.0, ge=0, le=5)
    """How steeply the rate grows with frustration F."""
    max_per_day: float = Field(0.6, gt=0, le=24)
    """The highest daily rate of leaving, however frustrated."""
    half_life_days: float = Field(21.0, gt=0)
    """Frustration halves every this many days."""
    # Customers differ: a log-normal factor (mean 1) on each one's rate; 0 = all alike.
    frailty_sigma: float = Field(0.7, ge=0, le=3)
    """Customers differ: sigma of a log-normal factor (mean 1) on each one's rate; 0: all alike."""
    # From the decision to leave to the account event: exponential, this mean.
    notice_days: float = Field(5.0, ge=0)
    """Mean (exponential) time from the decision to leave to the account event."""
    # An inbound contact on a service type within this long of another is a repeat.
    repeat_window_days: float = Field(7.0, gt=0)
    """An inbound contact on a service type within this long of another is a repeat (adds frustration)."""
    # A ticket still open this long after its due time is a broken promise.
    promise_grace_hours: float = Field(8.0, ge=0)
    """A ticket still open this long after its due time is a broken promise (adds frustration)."""


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
    churn: ChurnSettings = Field(default_factory=ChurnSettings)
    """The simulator's hidden churn model (`cxpulse simulate --churn`): when a simulated customer leaves; none of it is the engine's."""
