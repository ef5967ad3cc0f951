"""Fixtures and checks for the fault, bad-input and load tests: real broker, real ``cxpulse`` processes.

The worker processes are the processor tests' (``worker_factory``, ``another_worker``); the
reference is always the pure engine on the same records (``expected_run``). Tests marked
``soak`` are deselected unless the ``-m`` expression names them (``make soak``).

    outcome(consume, settings) -> Outcome
        What the pipeline wrote: every ``(alert_id, status)`` on the alerts topic (and how many
        records carried them) and the last ``cx.scores`` snapshot per customer.
    assert_engine_outcome(got, driver)
        Fails unless ``got`` has exactly the driver's alerts (by ``alert_id`` and ``status``)
        and every customer's final score and ``events_seen``.
    engine_on_topic(settings, records) -> (EngineDriver, verdicts)
        The pure engine on the records as the topic holds them (``consume`` output): each
        judged by the worker's own rule (``validate_record``: record time as "now", key
        check), the valid ones fed with their partition and record time, partitions merged
        by record time, then ``finish()``. ``verdicts`` maps ``(partition, offset)`` to the
        event or the reason it is invalid.
    wait_consumed(wait_for, settings, timeout=180, workers=())
        Waits until the worker group has committed the events and contacts topics to their
        ends; on failure prints the lag and the workers' last log lines.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from cxpulse.settings import Settings

from ..processors.conftest import WorkerProcess, another_worker, worker_factory  # noqa: F401 - fixtures reused
from ..processors.helpers import consumed_everything, lagging, last_scores

__all__ = ["Outcome", "assert_engine_outcome", "engine_on_topic", "outcome", "source_topics", "wait_consumed"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak tests run only when asked for (``-m soak``, ``make soak``): ``make test`` leaves them out."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak") is not None]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker("soak") is None]


@dataclass(frozen=True)
class Outcome:
    """What the pipeline wrote for one run."""

    alerts: set[tuple[str, str]]
    alert_records: int
    scores: dict[str, dict[str, Any]]


def outcome(consume: Callable[..., list], settings: Settings) -> Outcome:
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts)]
    return Outcome({(a["alert_id"], a["status"]) for a in alerts}, len(alerts),
                   last_scores(consume(settings.topics.scores)))


def assert_engine_outcome(got: Outcome, driver: Any) -> None:
    """``got`` equals the pure engine's run: the same alert set and every final score."""
    wanted = {(a.alert_id, a.status) for a in driver.alerts}
    assert got.alerts == wanted, f"missing {sorted(wanted - got.alerts)[:5]}, extra {sorted(got.alerts - wanted)[:5]}"
    assert got.scores.keys() == driver.states.keys()
    for customer_id, state in driver.states.items():
        snapshot = driver.engine.snapshot(state)
        assert got.scores[customer_id]["score"] == pytest.approx(snapshot.score, abs=1e-9), customer_id
        assert got.scores[customer_id]["events_seen"] == snapshot.events_seen, customer_id


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


def source_topics(settings: Settings) -> list[str]:
    """The topics the worker group reads: the events and its internal contacts topic."""
    return [settings.topics.events, f"{settings.worker.app_id}-contacts"]


def wait_consumed(wait_for: Callable[..., Any], settings: Settings, timeout: float = 180,
                  workers: Iterable[WorkerProcess] = ()) -> None:
    try:
        wait_for(lambda: consumed_everything(settings, source_topics(settings)), timeout=timeout,
                 interval=0.5, message="the worker group committed every record")
    except BaseException:
        print("lagging:", lagging(settings, source_topics(settings)))
        for worker in workers:
            print(f"--- {worker.log_path.name}:\n{worker.log()}")
        raise
