"""Settings of the faust worker (``[worker]`` in the config file)."""

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["WorkerSettings"]


class WorkerSettings(BaseModel):
    """How ``cxpulse worker`` runs; the engine's own numbers live in ``[engine]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = "cxpulse"
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    store: str = "memory://"
    data_dir: str = "var/worker"
