"""FastDrainConsumer's delivery loop and commit rule, on a real consumer of the pinned faust-streaming (no broker).

The consumer is the one ``WorkerApp``'s transport creates; only the broker call of a seek
(``seek_to_committed``) is answered by the test. Where faust's own rule is run on the same
state it is marked ``xfail(strict=True)``: the test shows faust's rule fails it.
"""

import asyncio
from typing import Any

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP as FaustTP
from faust.types.tuples import Message
from intervaltree import IntervalTree

from cxpulse.processors.worker.faustapp.app import WorkerApp
from cxpulse.processors.worker.faustapp.transport import FastDrainConsumer, next_commit

TP = FaustTP("cx.events", 0)


def _message(offset: int, generation: int) -> Message:
    message = Message("cx.events", 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP)
    message.generation_id = generation
    return message


class Drain:
    """A real :class:`FastDrainConsumer` of a real ``WorkerApp``; ``delivered`` is what reached its direct sink."""

    def __init__(self, during: dict | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.app = WorkerApp("cxpulse-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        self.app.direct_sinks = {"cx.events": self._sink}
        self.app.topics.add(self.app.topic("cx.events"))
        self.loop.run_until_complete(self.app.topics._update_indices())  # acks enabled for cx.events
        self.app.consumer_generation_id = 1
        self.consumer: FastDrainConsumer = self.app.transport.create_consumer(
            callback=self._callback, on_partitions_revoked=self._rebalance, on_partitions_assigned=self._rebalance)
        assert type(self.consumer) is FastDrainConsumer
        self.consumer.seek_to_committed = self._seek_to_committed  # type: ignore[method-assign]  # the broker's answer
        self.consumer.seek_wait = self._seek_wait  # type: ignore[method-assign]  # the seek in the consumer's thread
        self.broker_committed: dict = {}
        self.rewound: list[dict] = []  # each seek_wait's partitions and offsets
        self.seeking: Any = None
        self.delivered: list[int] = []
        self._during = during or {}

    async def _callback(self, *args: Any) -> None:  # not used: records of cx.events go to the direct sink
        raise AssertionError("not called")

    async def _rebalance(self, partitions: Any) -> None:  # the app's rebalance callbacks: nothing to do here
        pass

    async def _sink(self, message: Message) -> None:
        self.delivered.append(message.offset)
        if message.offset in self._during:
            self._during.pop(message.offset)(self)
        # no await: a hand-over to a queue with room does not let other tasks run

    async def _seek_to_committed(self) -> dict:
        await asyncio.sleep(0)  # the round trip to the broker: the loop hands records over meanwhile
        return dict(self.broker_committed)

    async def _seek_wait(self, partitions: dict) -> None:
        self.rewound.append(dict(partitions))
        await asyncio.sleep(0)

    @property
    def gaps(self) -> list[tuple[int, int]]:
        """Recorded gaps as ``(first missing, last missing)``."""
        return sorted((g.begin, g.end - 1) for g in self.consumer._gap[TP])

    def deliver(self, offsets) -> None:
        generation = self.app.consumer_generation_id

        async def records():  # as faust's getmany: it stops when the generation changes
            for offset in offsets:
                if self.app.consumer_generation_id != generation:
                    return
                yield TP, _message(offset, generation)

        async def run() -> None:
            await self.consumer._deliver_all(records())
            if self.seeking is not None:  # a seek started during the hand-over ends
                await self.seeking
                self.seeking = None

        self.loop.run_until_complete(run())

    def seek(self, committed: int | None) -> None:
        self.broker_committed = {TP: committed}
        self.loop.run_until_complete(self.consumer.perform_seek())

    def ack(self, *offsets: int) -> None:
        for offset in offsets:
            self.consumer.ack(_message(offset, self.app.consumer_generation_id))

    def close(self) -> None:
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def drain():
    made: list[Drain] = []

    def make(during: dict | None = None) -> Drain:
        made.append(Drain(during))
        return made[-1]

    yield make
    for d in made:
        d.close()


def _rebalance_and_seek_to(committed: int):
    """What faust does while a hand-over waits on a full queue: a new generation, then a seek."""
    def happen(d: Drain) -> None:
        d.app.consumer_generation_id += 1
        d.consumer._read_offset[TP] = committed
    return happen


def test_a_rebalance_during_a_hand_over_does_not_skip_the_records_read_again(drain):
    d = drain(during={971: _rebalance_and_seek_to(900)})
    d.deliver(range(950, 1000))
    assert d.delivered == list(range(950, 972))  # the rest of the stale fetch is not handed over
    assert d.consumer._read_offset[TP] == 900  # as faust's seek left it

    d.deliver(range(900, 1000))  # fetched again from the committed offset
    assert d.delivered[22:] == list(range(900, 1000))
    assert d.gaps == [] and d.consumer._read_offset[TP] == 999


def _seek_to_committed(committed: int | None):
    """``perform_seek`` at the end of a rebalance, started while the fetch is handed over."""
    def happen(d: Drain) -> None:
        d.broker_committed = {TP: committed}
        d.seeking = asyncio.ensure_future(d.consumer.perform_seek())
    return happen


def test_a_seek_to_committed_offsets_during_a_fetch_records_no_gap(drain):
    # The loop lets other tasks run every 100 records: the seek ends there, mid-fetch.
    d = drain(during={110: _seek_to_committed(100)})
    d.deliver(range(100, 400))
    assert d.consumer._committed_offset[TP] == 100  # as faust's seek leaves it
    assert d.delivered == list(range(100, 400))  # the whole fetch, once
    assert d.gaps == []  # records 101..(where the seek ended) were handed over: no gap over them
    assert d.consumer._read_offset[TP] == 399

    d.deliver(range(100, 405))  # fetched again from the committed offset
    assert d.delivered[300:] == [399, *range(400, 405)]  # faust's rule: the read offset itself again
    assert d.gaps == []


def test_a_hole_in_a_fetch_that_spans_a_seek_is_still_a_gap(drain):
    d = drain(during={110: _seek_to_committed(100)})
    d.deliver([*range(100, 300), *range(310, 330)])  # 300..309 do not exist
    assert d.gaps == [(300, 309)]
    assert d.delivered == [*range(100, 300), *range(310, 330)]


def test_a_partition_without_a_committed_offset_loses_nothing_to_a_seek(drain):
    d = drain(during={110: _seek_to_committed(None)})
    d.deliver(range(100, 400))  # the rest of the fetch is handed over
    assert d.rewound == [{TP: 0}] and d.consumer._read_offset[TP] is None  # then read again from the start
    d.deliver(range(100, 410))  # (the log starts at 100): what was handed over comes again, as after any seek
    assert d.delivered == [*range(100, 400), *range(100, 410)] and d.gaps == []


@pytest.mark.parametrize("committed", [None, 0])
def test_records_dropped_before_the_first_commit_are_read_again_from_the_start(drain, committed):
    # A worker starting on a backlog: its first fetch came while the flow was suspended (dropped,
    # never acked). aiokafka's seek_to_committed moves a partition only to a committed offset
    # above 0: this one would go on from 300, and records 0..299 would never be processed.
    d = drain()
    d.consumer.stop_flow()
    d.deliver(range(0, 300))
    assert d.delivered == [] and d.consumer._read_offset[TP] == 299
    d.seek(committed)
    assert d.rewound == [{TP: 0}] and d.consumer._read_offset[TP] is None
    d.consumer.resume_flow()
    d.deliver(range(0, 300))  # aiokafka reads from the log start again
    assert d.delivered == list(range(300)) and d.gaps == []


def test_a_rewound_partition_keeps_its_floor_so_a_stale_record_cannot_move_it(drain):
    # Records 0..99 delivered and acked, never committed; a rebalance rewinds the partition. A record
    # of the past generation still being handed over must not become the floor of the commit rule:
    # with floor 500, acks of 500..550 would commit 551 over records 100..499 still in flight.
    d = drain()
    d.deliver(range(0, 100))
    d.ack(*range(0, 100))
    stale = d.app.consumer_generation_id
    d.app.consumer_generation_id += 1
    d.seek(None)
    assert d.rewound == [{TP: 0}]

    async def late():  # the rest of a fetch of the past generation
        yield TP, _message(500, stale)
    d.loop.run_until_complete(d.consumer._deliver_all(late()))
    d.deliver(range(0, 600))  # read again from the start
    d.ack(*range(500, 551))
    assert d.consumer._new_offset(TP) == 100  # 100..499 are in flight: the commit stops before them


def test_a_partition_with_a_committed_offset_and_a_changelog_are_not_rewound(drain):
    d = drain()
    table = d.app.Table("customer_to_state")
    changelog = FaustTP(table.changelog_topic.get_topic_name(), 0)
    assert changelog.topic in d.app.tables.changelog_topics
    d.broker_committed = {TP: 100, changelog: None}
    d.loop.run_until_complete(d.consumer.perform_seek())
    assert d.rewound == [] and d.consumer._read_offset[TP] == 100


def test_records_already_delivered_are_skipped_and_a_hole_is_a_gap(drain):
    d = drain()
    d.deliver(range(0, 10))
    d.deliver(range(5, 12))  # a fetch overlapping the last one
    # faust's rule: below the read offset is skipped; the read offset itself is where a seek resumes
    assert d.delivered == [*range(0, 10), 9, 10, 11]
    d.deliver(range(15, 16))  # offsets 12..14 do not exist (compaction, transaction markers)
    assert d.gaps == [(12, 14)] and d.delivered[-1] == 15  # the record fetched is not part of the gap


def test_a_hole_after_offset_zero_is_a_gap(drain):
    d = drain()
    d.deliver([0, 4])  # faust's loop tests the read offset for truth: after offset 0 it records no gap
    assert d.gaps == [(1, 3)]


def test_a_missing_record_at_the_committed_offset_is_a_gap_and_the_commit_moves(drain):
    # A transactional producer's commit marker sits at the committed offset: the first record is one later.
    d = drain()
    d.seek(100)
    d.deliver(range(101, 110))
    assert d.gaps == [(100, 100)]
    d.ack(*range(101, 110))
    assert d.consumer._new_offset(TP) == 110


def test_a_partition_without_a_committed_offset_commits_from_its_first_record(drain):
    d = drain()
    d.deliver(range(50, 60))
    d.ack(*range(52, 60))  # 50 and 51 still in flight
    assert d.consumer._new_offset(TP) is None
    d.ack(50, 51)
    assert d.consumer._new_offset(TP) == 60


def test_a_commit_covers_the_whole_run_of_acked_offsets():
    assert next_commit([10, 11, 12, 15], committed=10) == (13, [15])
    assert next_commit([15, 13, 14], committed=13) == (16, [])
    assert next_commit([], committed=3) == (None, [])


def test_a_gap_counts_as_acked_and_is_used_up():
    gaps = IntervalTree.from_tuples([(13, 15), (40, 45)])
    assert next_commit([10, 11, 12, 15, 16], committed=10, gaps=gaps) == (17, [])
    assert sorted((g.begin, g.end) for g in gaps) == [(40, 45)]  # beyond the acked offsets: kept
    gaps = IntervalTree.from_tuples([(12, 15)])  # a gap over offsets also acked: no duplicates
    assert next_commit([10, 11, 12, 13, 14, 15], committed=10, gaps=gaps) == (16, [])


def test_offsets_below_the_committed_one_are_dropped():
    assert next_commit([95, 96, 100, 101], committed=100) == (102, [])
    assert next_commit([95, 96], committed=100) == (None, [])


# The commit rule, ours and faust's own on the same real consumer: faust's fails these.
FAUST_FAILS = pytest.mark.xfail(strict=True, reason="faust's Consumer._new_offset commits past a record in flight")
RULES = [pytest.param(FastDrainConsumer._new_offset, id="cxpulse"),
         pytest.param(FaustConsumer._new_offset, id="faust", marks=FAUST_FAILS)]


def _state(d: Drain, committed: int | None, acked: list[int]) -> None:
    d.consumer._committed_offset[TP] = committed
    d.consumer._acked[TP] = list(acked)
    d.consumer._acked_index[TP] = set(acked)


@pytest.mark.parametrize("rule", RULES)
def test_no_commit_over_one_record_in_flight_at_the_head(drain, rule):
    d = drain()
    _state(d, 100, [101, 102])  # 100 is still being processed (faust-streaming #606 tolerates it)
    assert rule(d.consumer, TP) is None
    _state(d, 100, [100, 101, 102])
    assert rule(d.consumer, TP) == 103


@pytest.mark.parametrize("rule", RULES)
def test_no_commit_past_records_in_flight_after_a_commit_at_offset_zero(drain, rule):
    d = drain()
    _state(d, 0, [3, 4])  # 0..2 in flight; faust skips its head check when the committed offset is 0
    assert rule(d.consumer, TP) is None


@pytest.mark.parametrize("rule", RULES)
def test_a_record_fetched_after_a_hole_is_not_acked_by_the_gap(drain, rule):
    d = drain()
    d.deliver([10, 11, 15, 16])  # 12..14 do not exist
    if rule is FaustConsumer._new_offset:  # the gap faust's own loop records: through the record fetched
        d.consumer._gap[TP].clear()
        d.loop.run_until_complete(FaustConsumer._add_gap(d.consumer, TP, 12, 15))
    d.ack(10, 11, 16)  # 15 still in flight
    assert rule(d.consumer, TP) == 15


@pytest.mark.parametrize("rule", [RULES[0], pytest.param(FaustConsumer._new_offset, id="faust", marks=pytest.mark.xfail(
    strict=True, reason="faust's run stops at the first duplicate"))])
def test_duplicates_do_not_cut_the_run_short(drain, rule):
    # faust's own rule stops at the first duplicate: one record per commit (issues #559, #625)
    d = drain()
    _state(d, 100, [100, 101, 101, 102, 102, 103, 103, 104])
    assert rule(d.consumer, TP) == 105


def test_the_consumer_keeps_what_is_left_for_the_next_commit(drain):
    d = drain()
    _state(d, 100, [101, 101, 102, 100, 107, 108, 90])
    assert d.consumer._new_offset(TP) == 103
    assert d.consumer._acked[TP] == [107, 108] and d.consumer._acked_index[TP] == {107, 108}
    d.consumer._committed_offset[TP] = 103
    assert d.consumer._new_offset(TP) is None  # 103..106 still in flight
    d.consumer._acked[TP] += [104, 103, 105, 106]
    assert d.consumer._new_offset(TP) == 109
    assert d.consumer._acked[TP] == []


def test_a_revoked_partition_forgets_its_floor_and_position(drain):
    d = drain()
    d.seek(100)
    d.loop.run_until_complete(d.consumer.on_partitions_revoked({TP}))
    assert TP not in d.consumer._floor and TP not in d.consumer._positions
