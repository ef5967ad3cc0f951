"""The pure scoring and rules engine: no Kafka, no faust, no clock, no I/O."""

from .settings import EngineSettings, Weights

__all__ = ["EngineSettings", "Weights"]
