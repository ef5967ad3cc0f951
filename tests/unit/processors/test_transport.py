"""FastDrainConsumer's delivery loop, with the consumer's state as plain objects (no broker)."""

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from cxpulse.processors.transport import FastDrainConsumer

TP = ("cx.events", 0)


class Drain:
    """The attributes ``_deliver_all`` reads from the consumer; ``delivered`` is what reached the sink."""

    def __init__(self, during=None) -> None:
        self.app = SimpleNamespace(consumer_generation_id=1, direct_sinks={"cx.events": self._sink},
                                   topics=SimpleNamespace(acks_enabled_for=lambda topic: True))
        self.callback = None
        self.suspend_flow = asyncio.Event()
        self._read_offset = defaultdict(lambda: None)
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

    def deliver(self, offsets: range) -> None:
        generation = self.app.consumer_generation_id

        async def records():  # as faust's getmany: it stops when the generation changes
            for offset in offsets:
                if self.app.consumer_generation_id != generation:
                    return
                yield TP, SimpleNamespace(offset=offset, topic="cx.events", generation_id=generation)

        asyncio.run(FastDrainConsumer._deliver_all(self, records()))


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


def test_records_already_delivered_are_skipped_and_a_hole_is_a_gap():
    drain = Drain()
    drain.deliver(range(0, 10))
    drain.deliver(range(5, 12))  # a fetch overlapping the last one
    # faust's rule: below the read offset is skipped; the read offset itself is where a seek resumes
    assert drain.delivered == [*range(0, 10), 9, 10, 11]
    drain.deliver(range(15, 16))  # offsets 12..14 do not exist (compaction, transaction markers)
    assert drain.gaps == [(12, 15)] and drain.delivered[-1] == 15
