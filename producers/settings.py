"""Settings of the producers: ``[producer]`` (simulate, produce) and ``[gateway]`` in the config file."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GatewaySettings", "ProducerSettings"]


class GatewaySettings(BaseModel):
    """How ``cxpulse ingest serve`` listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)


class ProducerSettings(BaseModel):
    """How ``cxpulse simulate`` and ``cxpulse produce`` write to Kafka (always ``acks=all``, idempotent)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    linger_ms: int = Field(20, ge=0, le=60_000)
    batch_size: int = Field(256 * 1024, ge=1024)
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = None
    # How long one event may wait for its acknowledgement, retries included.
    delivery_timeout_seconds: float = Field(120, ge=31)
    # How long a send may block when the buffer is full or the topic's metadata is unknown.
    max_block_seconds: float = Field(60, gt=0)
