"""The pure scoring and rules engine: no Kafka, no faust, no clock, no I/O.

See ``docs/architecture.md`` ("The engine") for the API and ``docs/rules.md`` for every
rule, signal and setting.
"""

from .alerting import alert_id
from .engine import Engine
from .results import Contact, StepResult
from .settings import EngineSettings, Weights
from .state import CustomerState, StateError, Ticket

__all__ = [
    "Contact",
    "CustomerState",
    "Engine",
    "EngineSettings",
    "StateError",
    "StepResult",
    "Ticket",
    "Weights",
    "alert_id",
]
