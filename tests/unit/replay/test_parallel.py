"""A replay in several processes (``--workers``) gives the one-process replay's result exactly.

The reference is :class:`Replayer` over the merged partitions; the parallel replay runs the
same partitions in groups (one after another in this process, and once in real forked
processes). Compared: every alert with its fields, in order; every final score; the counts,
the invalid records in order, and the record-time span. The archives have what crosses
partitions: incidents, idle partitions (record times that follow event times, so partitions
fall silent for longer than ``partition_idle_seconds``), SLA breaches by the overall clock,
duplicates, invalid records and a warm-up range.
"""

import multiprocessing
import random
from datetime import datetime

import orjson
import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.engine import Engine, EngineSettings
from cxpulse.processors.replay.parallel import ParallelReplay, assign_groups
from cxpulse.processors.replay.ranges import RangeStart, key_partition, merge_partitions
from cxpulse.processors.replay.run import Replayer

from .factories import simulated_values, topic_records

FUTURE = 86400.0 * 3650


def event_timed(values: list, partitions: int) -> list[list[SourceRecord]]:
    """Records stamped when their event happened (a live pipeline's record times), so a
    partition with no event for a while is idle by record time."""
    parts: list[list[SourceRecord]] = [[] for _ in range(partitions)]
    for item in values:
        key, value = item if isinstance(item, tuple) else (None, item)
        try:
            event = orjson.loads(value)
            stamp = int(datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp() * 1000)
            key = key if key is not None else event["customer_id"].encode()
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            stamp = parts[0][-1].timestamp if parts[0] else 0
        p = key_partition(key, partitions) if key is not None else 0
        parts[p].append(SourceRecord(p, len(parts[p]), stamp, key, value))
    return parts


def with_noise(values: list, seed: int) -> list:
    rng = random.Random(seed)
    values = list(values)
    for _ in range(40):  # a producer retrying
        i = rng.randrange(len(values) - 30)
        values.insert(i + rng.randrange(1, 30), values[i])
    for n in range(15):
        values.insert(rng.randrange(1, len(values)), (b"C-bad", b'{"event_id": "broken-%d"' % n))
    return values


def one_process(parts, settings, since_ms=None, engine=None):
    invalid: list = []
    start = RangeStart(since_ms) if since_ms is not None else None
    streams = [iter(p) if start is None else start.track(iter(p)) for p in parts]
    result = Replayer(settings, FUTURE, range_start=start, on_invalid=lambda r, why: invalid.append((r, why)),
                      engine=engine).run(merge_partitions(streams))
    return result, invalid


def in_groups(parts, settings, groups, since_ms=None, processes=False, engine=None):
    invalid: list = []
    start = RangeStart(since_ms) if since_ms is not None else None
    replay = ParallelReplay(settings, FUTURE, groups, lambda p, counted: iter(parts[p]), range_start=start,
                            on_invalid=lambda r, why: invalid.append((r, why)), processes=processes,
                            keep_states=True, engine=engine)
    return replay.run(), invalid, replay


def assert_same(one, other) -> None:
    (a, a_invalid), (b, b_invalid) = one, other
    dump = lambda result: [x.model_dump(mode="json") for x in result.alerts]  # noqa: E731
    assert dump(b) == dump(a)
    assert [s.model_dump(mode="json") for s in b.snapshots()] == [s.model_dump(mode="json") for s in a.snapshots()]
    assert b.states() == a.states() and len(a.states()) > 100
    assert b.counts == a.counts
    assert (b.first_ms, b.last_ms) == (a.first_ms, a.last_ms)
    assert b_invalid == a_invalid
    assert {k: s.to_bytes() for k, s in b.driver.incident_states.items()} == \
        {k: s.to_bytes() for k, s in a.driver.incident_states.items()}


@pytest.fixture(scope="module")
def busy() -> list[list[SourceRecord]]:
    """Records written one millisecond apart: no partition is ever idle."""
    return topic_records(with_noise(simulated_values(customers=1500, days=5, seed=21), 21), partitions=4)


@pytest.fixture(scope="module")
def live() -> list[list[SourceRecord]]:
    """Record times that follow event times: partitions fall idle between events; partition 4
    falls silent for good after the first 40 % of its records, with tickets open."""
    parts = event_timed(with_noise(simulated_values(customers=1500, days=5, seed=22), 22), partitions=5)
    parts[4] = parts[4][:len(parts[4]) * 2 // 5]
    return parts


def test_busy_partitions_replay_once_and_equal_one_process(busy):
    settings = EngineSettings()
    reference = one_process(busy, settings)
    assert {a.rule for a in reference[0].alerts} >= {"incident", "sla_breach", "churn_risk"}
    assert reference[0].counts.invalid and reference[0].counts.duplicates
    for groups in ([[0, 1], [2, 3]], [[0], [1], [2], [3]], [[3], [0, 1, 2]]):
        result, invalid, replay = in_groups(busy, settings, groups)
        assert replay.reran == []  # nothing idle: every group's first run is the result
        assert_same(reference, (result, invalid))


def test_idle_partitions_are_replayed_again_with_the_one_process_looks(live):
    settings = EngineSettings()
    reference = one_process(live, settings)
    # The archive really has what crosses partitions: breaches found while the partition was idle
    # (the idle sweep runs by the overall clock) and incidents.
    assert {a.rule for a in reference[0].alerts} >= {"incident", "sla_breach"}
    for groups in ([[0, 2, 4], [1, 3]], [[0], [1], [2], [3], [4]]):
        result, invalid, replay = in_groups(live, settings, groups)
        assert replay.reran  # partitions were idle: their groups ran again with the schedule
        assert_same(reference, (result, invalid))


def test_without_the_second_run_idle_partitions_would_differ(live, monkeypatch):
    """The check that makes the second run needed: with it skipped, the result is not the one
    process's (so the tests above would catch a schedule that was wrong or not applied)."""
    from cxpulse.processors.replay import parallel

    settings = EngineSettings(sla_grace_seconds=0)
    reference = one_process(live, settings)

    real = parallel.Planner

    class NoIdle:  # the real walk, but it reports no idle partition
        def __init__(self, *args):
            self.walk = real(*args)

        def add(self, *args):
            self.walk.add(*args)

        def plan(self):
            found = self.walk.plan()
            found.idle = set()
            return found

    monkeypatch.setattr(parallel, "Planner", NoIdle)
    result, invalid, _ = in_groups(live, settings, [[0, 2, 4], [1, 3]])
    assert [a.model_dump(mode="json") for a in result.alerts] != [a.model_dump(mode="json") for a in reference[0].alerts]


def test_a_warmup_range_reports_what_one_process_reports(live):
    settings = EngineSettings()
    stamps = sorted(r.timestamp for p in live for r in p)
    since = stamps[len(stamps) // 2]
    reference = one_process(live, settings, since)
    assert reference[0].counts.warmup and reference[0].counts.read
    result, invalid, _ = in_groups(live, settings, [[0, 1], [2, 3, 4]], since)
    assert_same(reference, (result, invalid))


def test_forked_processes_give_the_same_result(live):
    settings = EngineSettings()
    reference = one_process(live, settings)
    result, invalid, replay = in_groups(live, settings, [[0, 2, 4], [1, 3]], processes=True)
    assert replay.reran
    assert_same(reference, (result, invalid))


def test_a_failing_process_fails_the_replay_with_its_reason():
    from cxpulse.processors.replay.errors import ReplayError

    def broken(p, counted):
        raise OSError(f"cannot read partition {p}")

    replay = ParallelReplay(EngineSettings(), FUTURE, [[0], [1]], broken)
    with pytest.raises(ReplayError, match="cannot read partition"):
        replay.run()


def test_groups_balance_bytes_and_skip_empty_ones():
    assert assign_groups({0: 100, 1: 10, 2: 10, 3: 80}, 2) == [[0], [1, 2, 3]]
    assert assign_groups({0: 5, 1: 5}, 4) == [[0], [1]]
    assert assign_groups({7: 0}, 3) == [[7]]


def test_ctrl_c_ends_the_processes_with_no_result(live):
    from cxpulse.processors.replay.parallel import Interrupted

    replay = ParallelReplay(EngineSettings(), FUTURE, [[0, 2, 4], [1, 3]], lambda p, counted: iter(live[p]))
    replay.stop()  # as the signal handler does
    with pytest.raises(Interrupted):
        replay.run()
    assert not [c for c in multiprocessing.active_children() if c.name.startswith("cxpulse-replay-")]


@pytest.mark.parametrize("every", [1, 97])
def test_timelines_sent_in_small_chunks_are_walked_in_the_one_process_order(busy, live, monkeypatch, every):
    """The walk takes a record only once every partition still being read has one waiting: with
    chunks of one or 97 records, arriving group after group, the result is the same."""
    from cxpulse.processors.replay import parallel

    monkeypatch.setattr(parallel, "STREAM_EVERY", every)
    settings = EngineSettings()
    for parts, groups in ((busy, [[0, 3], [1], [2]]), (live, [[4, 1], [0, 2, 3]])):
        result, invalid, _ = in_groups(parts, settings, groups)
        assert_same(one_process(parts, settings), (result, invalid))
    result, invalid, _ = in_groups(live, settings, [[4, 1], [0, 2, 3]], processes=True)
    assert_same(one_process(live, settings), (result, invalid))


class FailingEngine:
    """The real engine, made to raise on some events (a bug a record could hit): a wrapper, as the
    compiled engine cannot be subclassed (tests/unit/orchestration/test_failures.py does the same)."""

    def __init__(self, settings: EngineSettings) -> None:
        self._engine = Engine(settings)

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def step(self, state, event):
        if event.event_id.endswith(("3", "7c")):
            raise RuntimeError("injected failure")
        return self._engine.step(state, event)


def test_records_that_fail_are_dead_lettered_as_in_one_process(live):
    settings = EngineSettings()
    reference = one_process(live, settings, engine=FailingEngine(settings))
    failed = [why for _, why in reference[1] if why.startswith("processing failed")]
    assert len(failed) > 100
    for processes in (False, True):
        result, invalid, _ = in_groups(live, settings, [[0, 2, 4], [1, 3]], processes=processes,
                                       engine=FailingEngine(settings))
        assert_same(reference, (result, invalid))
        assert result.driver.failed == reference[0].driver.failed == len(failed)
