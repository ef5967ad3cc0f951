"""faust's aiokafka transport with a cheaper consumer drain loop.

faust-streaming's ``Consumer._drain_messages`` hands every fetched record to the
conductor through ``Service.wait_first(callback(message), suspend_flow.wait())``: two new
tasks and an ``asyncio.wait`` per record, so that a rebalance can interrupt a callback
blocked on a full stream buffer. Profiling the worker showed this wrapper costs about
half of faust's per-record CPU time (docs/benchmarks.md, "Worker").

:class:`FastDrainConsumer` awaits the callback directly while the flow is running and
keeps faust's ``wait_first`` only while the flow is suspended (during a rebalance).
Some of faust's offset rules are hardened (all are races faust's own loop has too):

- A seek to the committed offsets (faust's ``perform_seek`` at the end of a rebalance,
  awaited while the fetcher may already be delivering the partitions it resumed) resets
  the read offsets. A delivery loop still handing over a fetch from before the seek then
  saw its next record far beyond the reset read offset and recorded a *gap* over records
  it had just delivered. :class:`FastDrainConsumer` counts these seeks; for the rest of a
  fetch that spans one, a hole is measured from the fetch's previous record of the same
  partition. (The rest is still handed over: aiokafka does not move a partition without a
  committed offset, so those records would not be fetched again.)
- faust's ``_new_offset`` fills gaps into the acked list without removing duplicates, and
  its run of consecutive offsets stops at the first duplicate: each commit then moved the
  committed offset by one record (faust-streaming issues #559, #625). Here the acked
  offsets are a set, so a commit reaches the end of the acked run.
- faust's commit rule is not at-least-once by construction: it commits over one record
  still in flight at the head of the acked run (faust-streaming issue #606), skips that
  check when the committed offset is 0, and records each gap through the record fetched
  after it (which then counts as acked while in flight). Here a commit never passes an
  offset that is neither acked nor known not to exist (:func:`next_commit`); a gap holds
  the missing offsets only, and one at the committed offset itself (a transaction marker
  there) is recorded from the position a seek left.

- After a rebalance, faust seeks every partition to its committed offset; aiokafka moves only
  those with one above 0. A stream partition with none stayed where its last fetch left it,
  past records handed over while the flow was suspended and dropped (a worker starting on a
  backlog lost them). :meth:`FastDrainConsumer._rewind` seeks such partitions to offset 0.

Everything else — acks, gaps, commits, read offsets — is faust's code, unchanged.
With ``worker.direct_delivery``, records of the topics in ``app.direct_sinks`` skip the
conductor and the streams entirely (``processors/worker/faustapp/direct.py``).
This leans on faust internals: the module is pinned to faust-streaming < 0.16 by
``pyproject.toml`` and the worker can run without it (``worker.fast_drain = false``).
"""

import asyncio
from collections.abc import Iterable
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.consumer import ensure_TP

__all__ = ["FastDrainConsumer", "FastDrainTransport", "next_commit"]


def next_commit(acked: Iterable[int], committed: int | None, gaps: Any = None,
                floor: int | None = None) -> tuple[int | None, list[int]]:
    """``(offset to commit or None, acked offsets left for later)`` for one partition.

    ``committed`` is the committed offset (the next one to read); when the partition has
    none yet, ``floor`` (the first offset delivered) stands in. Gaps (offsets that do not
    exist, faust's ``IntervalTree``) up to the largest acked offset count as acked and are
    chopped from it. The commit is one past the run of consecutive offsets that starts *at*
    that offset; when the run starts later, a record in between is still in flight and
    nothing is committed. This is at-least-once by construction: faust's rule
    (``Consumer._new_offset``) commits over one missing record at the head of the run
    (faust-streaming issue #606) and skips the check altogether when the committed offset
    is 0, and its run stops at the first duplicate (issues #559, #625).
    """
    base = committed if committed is not None else floor
    offsets = {offset for offset in acked if base is None or offset >= base}
    if not offsets:
        return None, []
    if gaps:
        top = max(offsets)
        spans = gaps.overlap(0, top)
        if spans:
            end = top + 1
            for span in spans:
                offsets.update(range(max(span.begin, base or 0), span.end))
                end = max(end, span.end)
            gaps.chop(0, end)
    low = min(offsets)
    if base is not None and low > base:
        return None, sorted(offsets)
    high = low
    while high + 1 in offsets:
        high += 1
    return high + 1, sorted(o for o in offsets if o > high)


# With no partition active, faust's fetch loop sleeps 1 s before it looks again; records
# that arrive meanwhile wait. Seen as the first warnings after an idle spell arriving
# 0.9-1.1 s late on one worker of two (docs/benchmarks.md, "Agent warnings").
IDLE_RECHECK_SECONDS = 0.02


class FastDrainConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer without the two-task wrapper per record, with an at-least-once commit rule."""

    _seeks = 0  # seeks to the committed offsets so far

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per partition: the committed offset a seek set the read offset to, until the
        # first record after it (the read offset is then a position, not a delivered record).
        self._positions: dict[Any, int] = {}
        # Per partition: the offset the commit rule starts from while there is no committed
        # offset (the first record delivered, or the committed 0 faust stores as None).
        self._floor: dict[Any, int] = {}

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        """faust's ``Consumer._wait_next_records``, but while no partition is active it looks
        again after ``IDLE_RECHECK_SECONDS`` instead of faust's 1 s (a check of a set: the
        idle cost stays negligible)."""
        if not self.flow_active:
            await self.wait(self.can_resume_flow)  # type: ignore[arg-type]
        try:
            self.not_waiting_next_records.set()
            active = None if self.app.client_only else self._get_active_partitions()
            records: Any = {}
            if active is None or active:
                records = await self._getmany(active_partitions=active, timeout=timeout)
            else:
                await self.sleep(IDLE_RECHECK_SECONDS)
            return records, active
        finally:
            self.not_waiting_next_records.set()

    async def perform_seek(self) -> None:
        """faust's ``Consumer.perform_seek``, remembering which read offsets are now positions, and
        rewinding the stream partitions that have no committed offset (:meth:`_rewind`)."""
        self._seeks += 1  # before the await: records handed over while it runs count as after it
        committed: dict[Any, int | None] = dict(await self.seek_to_committed())
        for tp in await self._rewind(committed):
            # Read from the start: no read offset, no position. The floor stays: the first record this
            # consumer was handed (the log start then); a record of a past generation handed over
            # later must not become it and let a commit pass records still in flight.
            committed[tp] = None
        positions = {ensure_TP(tp): offset for tp, offset in committed.items() if offset is not None and offset >= 0}
        self._read_offset.update({tp: positions.get(ensure_TP(tp)) for tp in committed})
        self._committed_offset.update({ensure_TP(tp): offset or None for tp, offset in committed.items()
                                       if offset is not None})
        self._positions.clear()  # in place: a delivery loop running now holds this dict
        self._positions.update(positions)
        self._floor.update(positions)

    async def _rewind(self, committed: dict[Any, int | None]) -> list[Any]:
        """Seek the stream partitions without a committed offset (none, or 0) back to the start.

        aiokafka's ``seek_to_committed`` moves a partition only when its committed offset is
        above 0; any other stays where its last fetch left it. Records of that fetch handed over
        during a rebalance were dropped, never acked (a suspended flow, a past generation, a
        batch still queued): read again from the committed offset everywhere else, they were
        never read again here. A worker that started on a backlog lost them when a second
        rebalance came before its first commit (the kill tests: a restart, hundreds of alerts
        shifted). Offset 0 is the log start (an offset below a later start is reset by
        ``auto_offset_reset``, earliest). Changelog partitions are faust's recovery's to place.
        """
        if self.app.conf.consumer_auto_offset_reset != "earliest":
            return []
        changelogs = self.app.tables.changelog_topics
        unset = [tp for tp, offset in committed.items()
                 if (offset is None or offset <= 0) and tp.topic not in changelogs]
        if unset:
            await self.seek_wait({tp: 0 for tp in unset})  # in the consumer's thread, until the positions are known
        return unset

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self._positions.pop(tp, None)
            self._floor.pop(tp, None)
        await faust_aiokafka.Consumer.on_partitions_revoked(self, revoked)

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """Record ``offset_from..offset_to`` (inclusive) as offsets that do not exist.

        faust's ``_add_gap`` starts a gap one past the committed offset (the committed offset
        is the next one to read: a missing record there is never covered) and is called with
        the record just fetched as the gap's end (it then counts as acked while in flight).
        Here the caller passes the missing offsets only and a gap may start at the committed offset.
        """
        committed = self._committed_offset[tp]
        if committed is not None:
            offset_from = max(offset_from, committed)
        if offset_from <= offset_to:
            gaps = self._gap[tp]
            gaps.addi(offset_from, offset_to + 1)
            await asyncio.sleep(0)
            gaps.merge_overlaps()

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        offset, left = next_commit(acked, self._committed_offset[tp], self._gap.get(tp), self._floor.get(tp))
        self._acked_index[tp].difference_update(set(acked).difference(left))
        acked[:] = left
        return offset

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
        seeks = self._seeks
        previous: dict[Any, int] = {}  # per partition, the offset of the last record handed over from this fetch
        sinks = getattr(app, "direct_sinks", None)
        read_offset, positions, floor = self._read_offset, self._positions, self._floor
        since_yield = 0
        async for tp, message in records:
            since_yield += 1
            if since_yield > 100:  # let other tasks run during a long fetch
                await asyncio.sleep(0)
                since_yield = 0
            offset, last = message.offset, read_offset[tp]
            if last is not None and offset < last:
                continue  # already delivered (faust drops these too)
            first_missing = None if last is None else last + 1
            if self._seeks != seeks:
                # The read offsets were reset under this fetch, while the records up to
                # this one were being handed over: a hole is measured within the fetch.
                last = previous.get(tp)
                first_missing = None if last is None else last + 1
            elif positions and positions.get(tp) == last:
                first_missing = last  # the read offset is the committed offset: the next record to read
            if last is None and tp not in floor:
                floor[tp] = offset  # no committed offset: nothing below the first record delivered
            if first_missing is not None and offset > first_missing and self.app.topics.acks_enabled_for(message.topic):
                await self._add_gap(tp, first_missing, offset - 1)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            direct = sinks.get(message.topic) if sinks else None
            if direct is not None:
                if not suspended():  # suspended: a rebalance; the record is read again after it
                    await direct(message)  # see processors/worker/faustapp/direct.py
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
            read_offset[tp] = previous[tp] = offset
            if positions:
                positions.pop(tp, None)


class FastDrainTransport(faust_aiokafka.Transport):
    """The aiokafka transport, with :class:`FastDrainConsumer`."""

    Consumer = FastDrainConsumer
