"""FastDrainConsumer's delivery loop and commit rule, with the consumer's state as plain objects (no broker)."""

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP as FaustTP
from intervaltree import IntervalTree

from cxpulse.processors.worker.faustapp.transport import FastDrainConsumer, next_commit

TP = FaustTP("cx.events", 0)


class Drain:
    """The attributes ``_deliver_all`` reads from the consumer; ``delivered`` is what reached the sink."""

    def __init__(self, during=None) -> None:
        self.app = SimpleNamespace(consumer_generation_id=1, direct_sinks={"cx.events": self._sink},
                                   topics=SimpleNamespace(acks_enabled_for=lambda topic: True))
        self.callback = None
        self.suspend_flow = asyncio.Event()
        self._read_offset = defaultdict(lambda: None)
        self._committed_offset = defaultdict(lambda: None)
        self._seeks = 0
        self.broker_committed: dict = {}
        self.seeking = None
        self._commit_every = None
        self._n_acked = 0
        self.gaps: list = []
        self.delivered: list[int] = []
        self._during = during or {}

    async def _add_gap(self, tp, first: int, last: int) -> None:
        self.gaps.append((first, last))

    async def _sink(self, message) -> None:
        self.delivered.append(message.offset)
        if message.offset in self._during:
            self._during.pop(message.offset)(self)
        # no await: a hand-over to a queue with room does not let other tasks run

    async def seek_to_committed(self) -> dict:
        await asyncio.sleep(0)  # the round trip to the broker: the loop hands records over meanwhile
        return dict(self.broker_committed)

    def deliver(self, offsets) -> None:
        generation = self.app.consumer_generation_id

        async def records():  # as faust's getmany: it stops when the generation changes
            for offset in offsets:
                if self.app.consumer_generation_id != generation:
                    return
                yield TP, SimpleNamespace(offset=offset, topic="cx.events", generation_id=generation)

        async def run() -> None:
            await FastDrainConsumer._deliver_all(self, records())
            if self.seeking is not None:  # a seek started during the hand-over ends
                await self.seeking
                self.seeking = None

        asyncio.run(run())


def _rebalance_and_seek_to(committed: int):
    """What faust does while a hand-over waits on a full queue: a new generation, then a seek."""
    def happen(drain: Drain) -> None:
        drain.app.consumer_generation_id += 1
        drain._read_offset[TP] = committed
    return happen


def test_a_rebalance_during_a_hand_over_does_not_skip_the_records_read_again():
    drain = Drain(during={971: _rebalance_and_seek_to(900)})
    drain.deliver(range(950, 1000))
    assert drain.delivered == list(range(950, 972))  # the rest of the stale fetch is not handed over
    assert drain._read_offset[TP] == 900  # as faust's seek left it

    drain.deliver(range(900, 1000))  # fetched again from the committed offset
    assert drain.delivered[22:] == list(range(900, 1000))
    assert drain.gaps == [] and drain._read_offset[TP] == 999


def _seek_to_committed(committed: int):
    """faust's ``perform_seek`` at the end of a rebalance, started while the fetch is handed over."""
    def happen(drain: Drain) -> None:
        drain.broker_committed = {TP: committed}
        drain.seeking = asyncio.ensure_future(FastDrainConsumer.perform_seek(drain))
    return happen


def test_a_seek_to_committed_offsets_during_a_fetch_records_no_gap():
    # The loop lets other tasks run every 100 records: the seek ends there, mid-fetch.
    drain = Drain(during={110: _seek_to_committed(100)})
    drain.deliver(range(100, 400))
    assert drain._committed_offset[TP] == 100  # as faust's seek left it
    assert drain.delivered == list(range(100, 400))  # the whole fetch, once
    assert drain.gaps == []  # records 101..(where the seek ended) were handed over: no gap over them
    assert drain._read_offset[TP] == 399

    drain.deliver(range(100, 405))  # fetched again from the committed offset
    assert drain.delivered[300:] == [399, *range(400, 405)]  # faust's rule: the read offset itself again
    assert drain.gaps == []


def test_a_hole_in_a_fetch_that_spans_a_seek_is_still_a_gap():
    drain = Drain(during={110: _seek_to_committed(100)})
    drain.deliver([*range(100, 300), *range(310, 330)])  # 300..309 do not exist
    assert drain.gaps == [(300, 310)]
    assert drain.delivered == [*range(100, 300), *range(310, 330)]


def test_a_partition_without_a_committed_offset_loses_nothing_to_a_seek():
    # aiokafka leaves such a partition where it is: the rest of the fetch is never fetched again
    drain = Drain(during={110: _seek_to_committed(None)})
    drain.deliver(range(100, 400))
    drain.deliver(range(400, 410))
    assert drain.delivered == list(range(100, 410)) and drain.gaps == []


def test_records_already_delivered_are_skipped_and_a_hole_is_a_gap():
    drain = Drain()
    drain.deliver(range(0, 10))
    drain.deliver(range(5, 12))  # a fetch overlapping the last one
    # faust's rule: below the read offset is skipped; the read offset itself is where a seek resumes
    assert drain.delivered == [*range(0, 10), 9, 10, 11]
    drain.deliver(range(15, 16))  # offsets 12..14 do not exist (compaction, transaction markers)
    assert drain.gaps == [(12, 15)] and drain.delivered[-1] == 15


def test_a_commit_covers_the_whole_run_of_acked_offsets():
    assert next_commit([10, 11, 12, 15], committed=10) == (13, [15])
    assert next_commit([15, 13, 14], committed=13) == (16, [])
    assert next_commit([], committed=3) == (None, [])


def test_duplicates_do_not_cut_the_run_short():
    # faust's own rule stops at the first duplicate: one record per commit (issues #559, #625)
    acked = [100, 101, 101, 102, 102, 103, 103, 104]
    assert next_commit(acked, committed=100) == (105, [])


def test_a_gap_counts_as_acked_and_is_used_up():
    gaps = IntervalTree.from_tuples([(13, 15), (40, 45)])
    assert next_commit([10, 11, 12, 15, 16], committed=10, gaps=gaps) == (17, [])
    assert sorted((g.begin, g.end) for g in gaps) == [(40, 45)]  # beyond the acked offsets: kept
    gaps = IntervalTree.from_tuples([(12, 15)])  # a gap over offsets also acked: no duplicates
    assert next_commit([10, 11, 12, 13, 14, 15], committed=10, gaps=gaps) == (16, [])


def test_no_commit_past_a_record_still_in_flight():
    assert next_commit([103, 104], committed=100) == (None, [103, 104])  # 100..102 not acked yet
    assert next_commit([101, 102], committed=100) == (103, [])  # faust's tolerance of one (a marker)


def test_offsets_below_the_committed_one_are_dropped():
    assert next_commit([95, 96, 100, 101], committed=100) == (102, [])
    assert next_commit([95, 96], committed=100) == (None, [])


def test_the_consumer_keeps_what_is_left_for_the_next_commit():
    state = SimpleNamespace(_acked=defaultdict(list), _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree),
                            _committed_offset=defaultdict(lambda: None))
    state._acked[TP] = [101, 101, 102, 100, 107, 108, 90]
    state._acked_index[TP] = {90, 100, 101, 102, 107, 108}
    state._committed_offset[TP] = 100
    assert FastDrainConsumer._new_offset(state, TP) == 103
    assert state._acked[TP] == [107, 108] and state._acked_index[TP] == {107, 108}
    state._committed_offset[TP] = 103
    assert FastDrainConsumer._new_offset(state, TP) is None  # 103..106 still in flight
    state._acked[TP] += [104, 103, 105, 106]
    assert FastDrainConsumer._new_offset(state, TP) == 109
    assert state._acked[TP] == []
