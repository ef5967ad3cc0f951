"""DirectBatches: batches handed to the processor, acked after it, stale records dropped unacked (no broker)."""

import asyncio
from types import SimpleNamespace

from cxpulse.processors.worker.faustapp.direct import DirectBatches


class FakeApp:
    """What DirectBatches reads from the faust app: consumer calls, flow control, generation, sensors."""

    def __init__(self) -> None:
        self.should_stop = False
        self.consumer_generation_id = 1
        self.active = True
        self.flow_control = SimpleNamespace(is_active=lambda: self.active)
        self.acked: list[int] = []
        self.out: list[int] = []
        self.consumer = SimpleNamespace(track_message=lambda m: self.tracked.add(m.offset),
                                        ack=lambda m: self.acked.append(m.offset), _unacked_messages=self)
        self.sensors = SimpleNamespace(on_message_out=lambda tp, offset, m: self.out.append(offset))
        self.tracked: set[int] = set()

    def discard(self, message) -> None:  # the consumer's set of unacked messages
        self.tracked.discard(message.offset)


def _message(offset: int, generation: int = 1) -> SimpleNamespace:
    return SimpleNamespace(tp=("cx.events", 0), offset=offset, generation_id=generation)


def test_batches_are_acked_after_processing_and_leave_faust_s_active_count():
    app, handled = FakeApp(), []

    async def handle(batch):
        handled.append([m.offset for m in batch])
        app.should_stop = len(handled) == 2

    async def run():
        direct = DirectBatches(app, handle, batch_max=3, within=0.01, maxsize=10)
        for offset in range(5):
            await direct.put(_message(offset))
        await direct.run()

    asyncio.run(run())
    assert handled == [[0, 1, 2], [3, 4]]
    assert app.acked == app.out == [0, 1, 2, 3, 4]


def test_records_of_a_past_generation_are_dropped_without_an_ack():
    app, handled = FakeApp(), []

    async def handle(batch):
        handled.append([m.offset for m in batch])
        app.should_stop = True

    async def run():
        direct = DirectBatches(app, handle, batch_max=10, within=0.01, maxsize=10)
        for offset in range(3):
            await direct.put(_message(offset, generation=1))
        app.consumer_generation_id = 2  # a rebalance: faust reads offsets 0..2 again
        await direct.put(_message(0, generation=2))
        await direct.run()

    asyncio.run(run())
    assert handled == [[0]] and app.acked == [0]
    assert sorted(app.out) == [0, 0, 1, 2] and app.tracked == set()  # dropped: no longer tracked, never acked
