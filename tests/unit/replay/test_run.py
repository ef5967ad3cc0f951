"""The replay loop: counts by verdict, the warm-up, one customer, a clean stop."""

import orjson

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.engine import EngineDriver, EngineSettings
from cxpulse.processors.replay.ranges import RangeStart, clip, merge_partitions
from cxpulse.processors.replay.run import TICK, Replayer
from cxpulse.schemas import parse_event

from .factories import simulated_values, topic_records

VALUES = simulated_values(customers=200, days=4, seed=5)


def run(parts, **kwargs):
    return Replayer(EngineSettings(), 86400.0, **kwargs).run(merge_partitions([iter(p) for p in parts]))


def test_every_record_is_counted_once_by_verdict():
    values = VALUES[:500] + [VALUES[3], VALUES[4], (b"C-x", b"nope"), (None, VALUES[7])]
    result = run(topic_records(values))

    counts = result.counts
    assert (counts.read, counts.valid, counts.invalid, counts.duplicates) == (504, 502, 2, 2)
    assert counts.reasons.total() == 2


def test_alerts_and_states_are_the_engines_own():
    result = run(topic_records(VALUES, partitions=1))
    driver = EngineDriver()
    for value in VALUES:
        driver.feed(parse_event(value))
    driver.finish()

    assert [a.alert_id for a in result.alerts] == [a.alert_id for a in driver.alerts]
    assert result.snapshots() == [driver.engine.snapshot(driver.states[c]) for c in sorted(driver.states)]


def test_warmup_rebuilds_state_but_reports_only_the_range():
    parts = topic_records(VALUES, step_ms=1000)
    since = parts[0][len(parts[0]) // 2].timestamp
    start = RangeStart(since)

    warm = Replayer(EngineSettings(), 86400.0, range_start=start).run(
        merge_partitions([start.track(iter(p)) for p in parts]))
    whole = run(parts)
    before = run([list(clip(p, None, since)) for p in parts])
    cold = run([list(clip(p, since, None)) for p in parts])

    assert warm.counts.warmup == before.counts.read and warm.counts.read == cold.counts.read
    assert warm.snapshots() == whole.snapshots()  # the same history: the same final state
    assert before.alerts + warm.alerts == whole.alerts  # the warm-up's alerts are left out, no more
    assert [a.alert_id for a in warm.alerts] != [a.alert_id for a in cold.alerts]  # and history matters


def test_one_customer_only():
    customer = orjson.loads(VALUES[10])["customer_id"]
    result = run(topic_records(VALUES), customer=customer)

    assert list(result.driver.states) == [customer]
    assert result.counts.valid == sum(orjson.loads(v)["customer_id"] == customer for v in VALUES)
    assert all(a.customer_id == customer for a in result.alerts)


def test_stop_ends_between_records_and_says_partial():
    steps = []

    def step(event, result, alerts):  # Ctrl-C arrives while the 100th event is being scored
        steps.append(event)
        if len(steps) == 100:
            replayer.stop()

    replayer = Replayer(EngineSettings(), 86400.0, on_step=step)
    result = replayer.run(merge_partitions([iter(p) for p in topic_records(VALUES)]))

    assert result.partial and result.counts.read == 100
    assert sum(s.events_seen for s in result.snapshots()) == 100


def test_invalid_records_reach_the_callback_with_where_they_were():
    seen = []
    parts = [[SourceRecord(4, 17, 1, b"C-1", b"{}")]]

    run(parts, on_invalid=lambda record, reason: seen.append((record.partition, record.offset, reason)))

    assert seen == [(4, 17, "event_type: required, one of 'call', 'ticket', 'feedback', 'account', 'contact_started'")]


def test_the_collector_never_walks_the_replays_state_twice():
    # What outlived a chunk of records is frozen out of the cyclic GC's sight (fewer_collections):
    # the young collections over millions of customer objects were a tenth of the replay's CPU.
    import gc

    frozen = []
    parts = topic_records(simulated_values(customers=500, days=14, seed=6), partitions=1)
    assert len(parts[0]) > 3 * TICK
    before = gc.get_freeze_count()
    Replayer(EngineSettings(), 86400.0).run(merge_partitions([iter(p) for p in parts]),
                                            tick=lambda n: frozen.append(gc.get_freeze_count()))
    assert len(frozen) >= 2 and frozen[-1] > frozen[0] > before  # frozen as the replay went
    assert gc.get_freeze_count() == before  # and handed back at the end
