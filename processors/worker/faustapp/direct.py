"""Direct delivery: fetched ``cx.events`` records go straight to the batch processor.

faust hands each record to its conductor, which builds an ``Event``, puts it on the
agent's channel queue, and the agent's stream takes it out again, tracks it and acks it:
about a third of the worker's CPU per event (docs/benchmarks.md, "Worker").
With ``worker.direct_delivery`` the worker's consumer loop (``transport.py``) puts the raw
records of ``cx.events`` on :class:`DirectBatches` instead; its task collects a batch
(``batch_max`` records or ``batch_within_seconds``), processes it and acks every record
with faust's own ``Consumer.ack``, so offsets, commits, rebalances and table recovery stay
faust's. Records of a past consumer generation, or still queued when the flow is suspended for a
rebalance, are dropped without an ack — never committed — as faust drops its channel
queues; after the rebalance faust seeks the partitions it keeps back to their committed
offsets, and the new owner of the others starts from theirs.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["DirectBatches"]

log = logging.getLogger(__name__)


class DirectBatches:
    """A bounded queue of raw faust messages and the task that processes them in batches."""

    def __init__(self, app: Any, handle: Callable[..., Awaitable[None]], batch_max: int, within: float,
                 maxsize: int) -> None:
        self.app = app
        self.handle = handle
        self.batch_max = batch_max
        self.within = within
        self.maxsize = maxsize
        self._queue: asyncio.Queue | None = None

    @property
    def queue(self) -> asyncio.Queue:
        if self._queue is None:  # created on the running loop, at the first record
            self._queue = asyncio.Queue(self.maxsize)
        return self._queue

    async def put(self, message: Any) -> None:
        """Called by the consumer loop for each record; waits while the queue is full."""
        self.app.consumer.track_message(message)
        await self.queue.put(message)

    async def run(self) -> None:
        """Collect, process and ack batches until the app stops.

        ``handle(batch, deferred)`` may leave the wait for the broker's answer to the batch's
        last writes (its changelog) in ``deferred``: the batch is then acked by a task that
        waits for that answer, and for the previous batch's acks, while the next batch is
        processed. A write that failed stops the app (``app.crash``); its batch and every
        later one stay unacked, so their offsets are never committed.
        """
        acking: asyncio.Future | None = None
        while not self.app.should_stop:
            batch = await self._collect()
            live, stale = self._split(batch)
            if stale:
                self._drop(stale)
            if live:
                if acking is not None and acking.done() and acking.exception() is not None:
                    raise acking.exception()  # type: ignore[misc]
                deferred: list[Awaitable[Any]] = []
                await self.handle(live, deferred)
                if deferred or (acking is not None and not acking.done()):
                    acking = asyncio.ensure_future(self._ack_after(acking, deferred, live))
                else:
                    self._ack(live)

    async def _ack_after(self, previous: asyncio.Future | None, deferred: list[Awaitable[Any]], live: list[Any]) -> None:
        try:
            for waiting in deferred:
                await waiting
            if previous is not None:
                await previous  # acks in batch order
        except BaseException as exc:
            if previous is not None and not previous.done():
                previous.cancel()
            if not isinstance(exc, asyncio.CancelledError):
                await self.app.crash(exc)  # the worker stops: nothing is committed past this batch
            raise
        self._ack(live)

    def _ack(self, live: list[Any]) -> None:
        ack, out = self.app.consumer.ack, self.app.sensors.on_message_out
        for message in live:  # only now may their offsets be committed
            ack(message)
            out(message.tp, message.offset, message)  # faust's monitor: no longer active

    def _drop(self, stale: list[Any]) -> None:
        # Read before a rebalance: never acked, so never committed; faust seeks the
        # partitions it keeps back to their committed offsets and reads them again.
        unacked, out = self.app.consumer._unacked_messages, self.app.sensors.on_message_out
        for message in stale:
            unacked.discard(message)
            out(message.tp, message.offset, message)

    def _split(self, batch: list[Any]) -> tuple[list[Any], list[Any]]:
        """``(live, stale)``: stale are records of a past generation, or all while the flow is suspended."""
        if not self.app.flow_control.is_active():
            return [], batch
        generation = self.app.consumer_generation_id
        live = [m for m in batch if m.generation_id == generation]
        if len(live) == len(batch):
            return live, []
        return live, [m for m in batch if m.generation_id != generation]

    async def _collect(self) -> list[Any]:
        queue = self.queue
        batch = [await queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.within
        while len(batch) < self.batch_max:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch
