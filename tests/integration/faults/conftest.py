"""Fixtures and checks for the fault, bad-input and load tests: real broker, real ``cxpulse`` processes.

The worker processes are the processor tests' (``worker_factory``, ``another_worker``); the
reference is always the pure engine on the same records (``expected_run``). Tests marked
``soak`` are deselected unless the ``-m`` expression names them (``make soak``).

    outcome(consume, settings) -> Outcome, assert_engine_outcome(got, driver),
    wait_consumed(wait_for, settings, timeout=180, workers=())
        From the processor tests' helpers (``processors/helpers.py``), where they are described.
    killed_twice(rng, settings, records, produce, start_worker, wait_for, pause=(0.0, 0.5)) -> worker
        ``records`` produced in three chunks cut at random in their middle three fifths; the
        worker SIGKILLed a random ``pause`` (seconds) after each of the first two and another
        started on the same data directory; returns the last once the group committed everything.
    engine_on_topic(settings, records) -> (EngineDriver, verdicts)
        The pure engine on the records as the topic holds them (``consume`` output): each
        judged by the worker's own rule (``validate_record``: record time as "now", key
        check), the valid ones fed with their partition and record time, partitions merged
        by record time, then ``finish()``. ``verdicts`` maps ``(partition, offset)`` to the
        event or the reason it is invalid.
"""

import random
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from cxpulse.settings import Settings

from ..worker.conftest import another_worker, worker_factory  # noqa: F401 - fixtures reused
from ..worker.helpers import Outcome, assert_engine_outcome, outcome, source_topics, wait_consumed  # noqa: F401

__all__ = ["Outcome", "assert_engine_outcome", "engine_on_topic", "killed_twice", "outcome", "source_topics",
           "wait_consumed"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak tests run only when asked for (``-m soak``, ``make soak``): ``make test`` leaves them out."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak") is not None]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker("soak") is None]


def engine_on_topic(settings: Settings, records: list) -> tuple[Any, dict[tuple[int, int], Any]]:
    from cxpulse.processors.archive import SourceRecord
    from cxpulse.processors.engine import EngineDriver
    from cxpulse.processors.replay.ranges import merge_partitions
    from cxpulse.processors.validation import validate_record

    by_partition: dict[int, list] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(SourceRecord.from_consumer(record))
    driver, verdicts = EngineDriver(settings.engine), {}
    for record in merge_partitions([iter(p) for _, p in sorted(by_partition.items())]):
        verdict = validate_record(record.key, record.value_bytes(), record.timestamp / 1000,
                                  settings.validation.max_future_seconds)
        verdicts[record.partition, record.offset] = verdict
        if not isinstance(verdict, str):
            driver.feed(verdict, record.partition, record.timestamp / 1000)
    driver.finish()
    return driver, verdicts


def killed_twice(rng: random.Random, settings: Settings, records: list, produce: Callable[..., None],
                 start_worker: Callable[..., Any], wait_for: Callable[..., Any],
                 pause: tuple[float, float] = (0.0, 0.5)) -> Any:
    cuts = sorted(rng.sample(range(len(records) // 5, len(records) * 4 // 5), 2))
    chunks = [records[:cuts[0]], records[cuts[0]:cuts[1]], records[cuts[1]:]]
    worker = start_worker(settings)
    for chunk in chunks[:2]:
        produce(settings.topics.events, chunk)
        time.sleep(rng.uniform(*pause))  # a random moment of the processing of this chunk
        worker.stop(signal.SIGKILL)
        worker = start_worker(settings)  # same data directory: state from the changelog
    produce(settings.topics.events, chunks[2])
    wait_consumed(wait_for, settings, workers=[worker])
    return worker
