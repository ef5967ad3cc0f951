"""faust's aiokafka transport with a cheaper consumer drain loop.

faust-streaming's ``Consumer._drain_messages`` hands every fetched record to the
conductor through ``Service.wait_first(callback(message), suspend_flow.wait())``: two new
tasks and an ``asyncio.wait`` per record, so that a rebalance can interrupt a callback
blocked on a full stream buffer. Profiling the worker showed this wrapper costs about
half of faust's per-record CPU time (docs/benchmarks.md, "Worker").

:class:`FastDrainConsumer` awaits the callback directly while the flow is running and
keeps faust's ``wait_first`` only while the flow is suspended (during a rebalance).
Everything else — offsets, gaps, commits, read offsets — is faust's code, unchanged.
With ``worker.direct_delivery``, records of the topics in ``app.direct_sinks`` skip the
conductor and the streams entirely (``processors/direct.py``).
This leans on faust internals: the module is pinned to faust-streaming < 0.16 by
``pyproject.toml`` and the worker can run without it (``worker.fast_drain = false``).
"""

import asyncio
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["FastDrainConsumer", "FastDrainTransport"]


class FastDrainConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer without the two-task wrapper per record."""

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - timing path
        should_stop, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (should_stop() or fetcher_stopped()):
                records = self.getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    await self._deliver_all(records)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _deliver_all(self, records: Any) -> None:
        callback, suspended = self.callback, self.suspend_flow.is_set
        app = self.app
        sinks = getattr(app, "direct_sinks", None)
        read_offset = self._read_offset
        since_yield = 0
        async for tp, message in records:
            since_yield += 1
            if since_yield > 100:  # let other tasks run during a long fetch
                await asyncio.sleep(0)
                since_yield = 0
            offset, last = message.offset, read_offset[tp]
            if last is not None and offset < last:
                continue  # already delivered (faust drops these too)
            if last and offset - last > 1 and self.app.topics.acks_enabled_for(message.topic):
                await self._add_gap(tp, last + 1, offset)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            direct = sinks.get(message.topic) if sinks else None
            if direct is not None:
                if not suspended():  # suspended: a rebalance; the record is read again after it
                    await direct(message)  # see processors/direct.py
            elif suspended():
                await self.wait_first(callback(message), self.suspend_flow.wait())
            else:
                await callback(message)
            if message.generation_id != app.consumer_generation_id:
                # A whole rebalance happened while this record was handed over (a full
                # queue waits for the flow to resume): faust has sought the partitions back
                # to their committed offsets and set the read offsets to match. Recording
                # this record's offset now would make the records between the committed
                # offset and it look delivered: skipped, never acked, the commit stuck there.
                return
            read_offset[tp] = offset


class FastDrainTransport(faust_aiokafka.Transport):
    """The aiokafka transport, with :class:`FastDrainConsumer`."""

    Consumer = FastDrainConsumer
