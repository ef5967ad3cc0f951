"""Records read again after a crash are applied once, however many a customer has (docs/reliability.md).

A worker commits no offset during the run (``commit_interval_seconds`` an hour) and is
killed once it has processed the whole stream: its states are in the changelog, its offsets
are not. The next worker recovers the states and reads every record again from offset 0.
With a de-duplication ring of one event id, only the position each state keeps of the last
record applied to it (``CustomerState.source``) can tell a record read again from a new one;
the run must end exactly as the pure engine's, nothing counted twice.
"""

import signal

import pytest

from ..worker.conftest import another_worker
from ..worker.helpers import expected_run
from ..worker.scenario import scripted
from .conftest import assert_engine_outcome, outcome, wait_consumed

pytestmark = pytest.mark.timeout(300)


def test_a_stream_read_again_after_a_crash_is_applied_once(settings_factory, produce, consume, worker_factory,
                                                          wait_for):
    settings = settings_factory(partitions=2, engine={"dedup_event_ids": 1},
                                worker={"commit_interval_seconds": 3600.0, "session_timeout_seconds": 10.0,
                                        "batch_max": 100})
    records = scripted(background_customers=150, background_events=3_000, seed=5).records()
    first = worker_factory(settings)
    produce(settings.topics.events, records)
    wait_for(lambda: first.health()["events"] == len(records), timeout=120, interval=0.2,
             message="the first worker processed every record")
    first.stop(signal.SIGKILL)  # nothing committed: every record is read again

    restarted = another_worker(settings)  # its own data directory: states from the changelog
    restarted = restarted.model_copy(update={"worker": restarted.worker.model_copy(
        update={"commit_interval_seconds": 0.2})})  # this one commits
    again = worker_factory(restarted)
    wait_consumed(wait_for, settings, workers=[again])
    assert_engine_outcome(outcome(consume, settings), expected_run(settings, records))
    health = again.health()
    assert health["redelivered"] > len(records) // 2, health  # read again, known applied, skipped
