"""Busy customers written as a base and an operation log survive SIGKILL (docs/reliability.md).

On the real broker, a worker whose ``state_delta_min_bytes`` is low enough that most of a
small, busy population is written as deltas (``statelog.py``) is killed twice at random
moments while records arrive (mid-batch, mid-write, mid-commit: customers mid-delta), then
reads the rest. The run must end as the pure engine's (alerts, final scores, events seen),
and the changelog, read as compaction keeps it (the last record of each key), must hold
every customer's engine state: its base with its delta applied.
"""

import random

import pytest

from cxpulse.processors.engine import Engine
from cxpulse.processors.worker.statelog import is_delta_key, stored_state

from ..worker.helpers import expected_run
from ..worker.scenario import scripted
from .conftest import assert_engine_outcome, killed_twice, outcome

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_worker_killed_with_customers_mid_delta_recovers_their_states(seed, settings_factory, produce, consume,
                                                                        worker_factory, wait_for):
    rng = random.Random(seed)
    settings = settings_factory(partitions=2, worker={"commit_interval_seconds": 0.2, "session_timeout_seconds": 10.0,
                                                      "batch_max": 20, "state_delta_min_bytes": 2048})
    records = scripted(background_customers=12, background_events=3_000, seed=seed).records()
    worker = killed_twice(rng, settings, records, produce, worker_factory, wait_for, pause=(0.2, 1.0))

    driver = expected_run(settings, records)
    assert_engine_outcome(outcome(consume, settings), driver)

    changelog = consume(f"{settings.worker.app_id}-customer_to_state-changelog")
    compacted: dict[bytes, bytes] = {}
    for record in changelog:
        if record.value is None:
            compacted.pop(record.key, None)
        else:
            compacted[record.key] = record.value
    deltas = [key for key in compacted if is_delta_key(key)]
    assert len(deltas) >= 3, "few customers were written as deltas: the test does not test them"
    engine = Engine(settings.engine)
    states = {key.decode(): stored_state(engine, compacted, key)[0] for key in compacted if not is_delta_key(key)}
    assert states.keys() == driver.states.keys()
    different = [cid for cid, state in states.items() if state != driver.states[cid]]
    assert not different, different[:3]
    busy = max(driver.states, key=lambda cid: len(compacted.get(f"{cid}/ops".encode(), b"")))
    status, body = worker.get(f"/customers/{busy}")  # the read API reads the base and its delta
    assert status == 200 and body["events_seen"] == driver.states[busy].events_seen
    assert worker.health()["customers_stored"] == len(driver.states)  # the operation logs are not customers
