"""SIGKILL at random points of a batch: the run ends as the undisturbed run, no alert id carries two contents.

Extends ``test_worker_faults.py`` (one kill after a commit) with kills at random moments
while records arrive (per seed: two kills, each a random time after a chunk was produced,
so mid-batch, mid-write or mid-commit), on a small stream. The outcome must be the pure
engine's (every ``(alert_id, status)``, every final score and ``events_seen``: nothing lost,
nothing counted twice), and every record that repeats an ``(alert_id, status)`` after a
crash must repeat its content too (all but ``emitted_at``). An incident's updates share its
``(alert_id, status)`` with another count in the summary ("27 customers ... (raised with 25)"):
each incident record must be one of the engine's records for its id, byte for byte.
"""

import random
from collections import defaultdict

import orjson
import pytest

from ..worker.helpers import expected_run
from ..worker.scenario import scripted
from .conftest import assert_engine_outcome, killed_twice, outcome

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_points_ends_as_the_undisturbed_run(seed, settings_factory, produce, consume,
                                                              worker_factory, wait_for):
    rng = random.Random(seed)
    settings = settings_factory(partitions=2, worker={"commit_interval_seconds": 0.2, "session_timeout_seconds": 10.0,
                                                      "batch_max": 100})
    records = scripted(background_customers=200, background_events=4_000, seed=seed).records()
    killed_twice(rng, settings, records, produce, worker_factory, wait_for)

    driver = expected_run(settings, records)
    assert_engine_outcome(outcome(consume, settings), driver)
    contents: dict[tuple[str, str], set[bytes]] = defaultdict(set)
    for record in consume(settings.topics.alerts):
        alert = orjson.loads(record.value)
        alert.pop("emitted_at")
        contents[alert["alert_id"], alert["status"]].add(orjson.dumps(alert, option=orjson.OPT_SORT_KEYS))
    incidents: dict[tuple[str, str], set[bytes]] = defaultdict(set)
    for alert in driver.alerts:
        if alert.rule == "incident":
            incidents[alert.alert_id, alert.status].add(orjson.dumps(alert.model_dump(mode="json", exclude={"emitted_at"}),
                                                                     option=orjson.OPT_SORT_KEYS))
    assert incidents and all(contents[key] == found for key, found in incidents.items())  # the raise and its updates
    assert contents and all(len(found) == 1 for key, found in contents.items() if key not in incidents), \
        [key for key, found in contents.items() if len(found) > 1 and key not in incidents][:3]
