"""Issue 14.9: every partition idle, then an outage burst — its incident must still be raised live.

The cause of the incident that was never raised after a broker restart: once every partition
of ``cx.events`` had been idle for ``engine.partition_idle_seconds``, the worker's marks gave
every partition the clock +inf, the incident agent remembered the watermark +inf and decided
every window up to it, and the contacts of the burst read next were dropped as already decided.
A broker outage longer than the idle period is one way to get there; a quiet stream is another.
This test takes the quiet way, which does not depend on how long the broker takes to restart.
"""

import orjson
import pytest

from ..worker.helpers import expected_run
from .conftest import assert_engine_outcome, outcome, wait_consumed
from .test_broker_restart import _with_outage_burst

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("seed", [41, 42])
def test_a_burst_read_after_every_partition_went_idle_raises_its_incident(
        settings_factory, produce, consume, worker_factory, wait_for, seed):
    settings = settings_factory(partitions=3, engine={"partition_idle_seconds": 2.0})
    records, burst_at = _with_outage_burst(seed)
    worker = worker_factory(settings)
    produce(settings.topics.events, records[:burst_at])
    wait_for(lambda: (worker.health() or {}).get("events") == burst_at, timeout=120,
             message="the stream before the burst read")
    wait_for(lambda: (worker.health() or {}).get("idle_partitions") == 3, timeout=60,
             message="every partition idle, its mark delivered")
    produce(settings.topics.events, records[burst_at:])
    wait_consumed(wait_for, settings, workers=[worker])
    wait_for(lambda: (worker.health() or {}).get("idle_partitions") == 3, timeout=60,
             message="every partition idle again after the rest of the stream")

    expected = expected_run(settings, records)
    burst = {a.alert_id for a in expected.alerts
             if a.rule == "incident" and any(e.startswith(f"burst-{seed}-") for e in a.evidence)}
    assert len(burst) == 1
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts, timeout=5)]
    assert burst <= {a["alert_id"] for a in alerts if a["rule"] == "incident"}, "the burst's incident was never raised"
    assert_engine_outcome(outcome(consume, settings), expected)
