"""Workers killed mid-stream: the pipeline resumes by itself and ends exactly where the pure engine ends.

Each test produces a scripted stream (every rule, an outage, background traffic over four
days), kills ``cxpulse worker`` processes with SIGKILL while they are busy, and compares the
final outputs with ``EngineDriver`` on the same records: the same set of ``(alert_id,
status)``, every customer's final score and ``events_seen`` (so no event counted twice
and none lost). Alerts re-emitted after a crash repeat an id; they are not new alerts.
"""

import signal

import pytest

from ..worker.helpers import committed_offsets, expected_run
from ..worker.scenario import scripted
from .conftest import another_worker, assert_engine_outcome, outcome, wait_consumed

pytestmark = pytest.mark.timeout(300)

FAST_FAILOVER = {"session_timeout_seconds": 10.0}  # a killed member leaves the group after 10 s, not 30


def _processed(*workers) -> int:
    return sum((w.health() or {}).get("events", 0) for w in workers if w.process.poll() is None)


def test_a_worker_killed_mid_stream_and_restarted_ends_as_the_engine(settings_factory, produce, consume,
                                                                     worker_factory, wait_for):
    settings = settings_factory(partitions=3, worker={**FAST_FAILOVER, "commit_interval_seconds": 0.2})
    records = scripted(background_customers=400, background_events=12_000, seed=11).records()
    produce(settings.topics.events, records)

    first = worker_factory(settings)
    wait_for(lambda: _processed(first) >= len(records) // 4, timeout=120, message="a quarter processed")
    # killed only after every partition has a commit, so the restart provably resumes from committed
    # offsets (a partition without one is read again from its start: FastDrainConsumer._rewind)
    wait_for(lambda: len(committed_offsets(settings, settings.topics.events)) == 3, timeout=120,
             message="a commit on every partition")
    first.stop(signal.SIGKILL)
    again = worker_factory(settings)  # same data directory: the state comes back from the changelog
    wait_consumed(wait_for, settings, workers=[again])

    got = outcome(consume, settings)
    assert_engine_outcome(got, expected_run(settings, records))
    assert wait_for(again.health, message="health")["events"] < len(records)  # it resumed from the committed offsets


def test_one_of_two_workers_killed_its_partitions_move_and_recover_from_the_changelog(
        settings_factory, produce, consume, worker_factory, wait_for):
    settings = settings_factory(partitions=6, worker=FAST_FAILOVER)
    records = scripted(background_customers=400, background_events=16_000, seed=7).records()
    first = worker_factory(settings)
    second = worker_factory(another_worker(settings), ready_timeout=120)
    wait_for(lambda: all(not (w.health() or {}).get("rebalancing", True) and (w.health() or {}).get(
        "owned_partitions") for w in (first, second)), timeout=120, message="both workers own partitions")
    owned_by_second = set(second.health()["owned_partitions"])

    produce(settings.topics.events, records)
    wait_for(lambda: _processed(first, second) >= len(records) // 3, timeout=120, message="a third processed")
    second.stop(signal.SIGKILL)
    wait_for(lambda: owned_by_second <= set((first.health() or {}).get("owned_partitions") or ()), timeout=90,
             message="the survivor took over the killed worker's partitions")
    wait_consumed(wait_for, settings, workers=[first])

    assert_engine_outcome(outcome(consume, settings), expected_run(settings, records))
    assert first.health()["owned_partitions"] == list(range(6))
