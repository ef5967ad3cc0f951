"""The pure scoring and rules engine: no Kafka, no faust, no clock, no I/O.

See ``docs/architecture.md`` ("The engine") for the API and ``docs/rules.md`` for every
rule, signal and setting.
"""

from .alerting import alert_id
from .clocks import INF, PartitionClocks
from .driver import EngineDriver, StepHook
from .engine import Engine
from .incident import IncidentEngine, IncidentState
from .orchestration import DictStore, IncidentRoute, InlineIncidents, Orchestrator, RecordFailed, decide_incidents
from .partitioner import key_partition
from .results import Contact, StepResult
from .settings import EngineSettings, Weights
from .sla import SlaIndex
from .state import CustomerState, StateError, Ticket

__all__ = [
    "Contact",
    "CustomerState",
    "DictStore",
    "Engine",
    "EngineDriver",
    "EngineSettings",
    "IncidentEngine",
    "IncidentRoute",
    "IncidentState",
    "InlineIncidents",
    "INF",
    "Orchestrator",
    "PartitionClocks",
    "RecordFailed",
    "SlaIndex",
    "StateError",
    "StepHook",
    "StepResult",
    "Ticket",
    "Weights",
    "alert_id",
    "decide_incidents",
    "key_partition",
]
