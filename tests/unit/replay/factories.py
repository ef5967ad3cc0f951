"""Kafka-like records for the replay tests: simulated events keyed and partitioned as Kafka would.

``topic_records`` returns each partition's records in offset order, stamped in the order
they were produced (as a producer writing the simulation as fast as it can would).
"""

from datetime import UTC, datetime

import orjson

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.replay.ranges import key_partition
from cxpulse.producers.simulator import Simulation, SimulationConfig

__all__ = ["ANCHOR", "T0_MS", "by_partition", "simulated_values", "topic_records"]

ANCHOR = datetime(2025, 3, 10, tzinfo=UTC)
T0_MS = int(datetime(2025, 3, 10, 1, tzinfo=UTC).timestamp() * 1000)  # when the records were "produced"


def simulated_values(customers: int = 300, days: float = 5, seed: int = 3) -> list[bytes]:
    """Simulated events (JSON bytes) in event-time order."""
    config = SimulationConfig(anchor=ANCHOR, seed=seed, customers=customers, days=days)
    return [orjson.dumps(event) for event in Simulation(config).events()]


def topic_records(values: list[bytes | tuple[bytes | None, bytes]], partitions: int = 3,
                  start_ms: int = T0_MS, step_ms: int = 1) -> list[list[SourceRecord]]:
    """Records as a topic with ``partitions`` would hold them; a value may come with its own key."""
    parts: list[list[SourceRecord]] = [[] for _ in range(partitions)]
    for i, item in enumerate(values):
        key, value = item if isinstance(item, tuple) else (_key(item), item)
        p = key_partition(key, partitions) if key is not None else i % partitions
        parts[p].append(SourceRecord(p, len(parts[p]), start_ms + i * step_ms, key, value))
    return parts


def by_partition(parts: list[list[SourceRecord]]) -> list[list[SourceRecord]]:
    return [list(p) for p in parts]


def _key(value: bytes) -> bytes | None:
    try:
        return orjson.loads(value)["customer_id"].encode("utf-8")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
