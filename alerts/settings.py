"""Settings of alert delivery (``[alerts]`` in the config file)."""

from pydantic import BaseModel, ConfigDict

__all__ = ["AlertsSettings"]


class AlertsSettings(BaseModel):
    """Where ``cxpulse alerts route`` delivers alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alertmanager_url: str = "http://127.0.0.1:9093"
