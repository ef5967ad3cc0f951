"""What the browser console reads from Kafka: the alerts topic and the agent-warnings topic.

Without a consumer group (a console watches; it never takes records from the router),
every partition of each topic is read from ``lookback`` seconds ago (by record time), then
followed. ``status`` says how it goes, for the page: connecting, loading (catching up to
the end offsets seen at the start), live, or unreachable (and the reason). A broker that
goes away is retried with backoff; positions are kept, so nothing is read twice. A topic
that does not exist yet (the warnings topic before any worker wrote one) is looked for
again every ``recheck_seconds``.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cxpulse.settings import KafkaSettings

__all__ = ["FeedStatus", "KafkaFeed"]

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]


@dataclass
class FeedStatus:
    """The feed's state as the page shows it."""

    kafka: str = "connecting"  # connecting, loading, live, unreachable
    detail: str = ""
    missing_topics: list[str] = field(default_factory=list)
    records: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"kafka": self.kafka, "detail": self.detail, "missing_topics": list(self.missing_topics),
                "records": self.records}


class KafkaFeed:
    """Reads ``topics`` and calls ``on_record(topic, value)`` for every JSON object in them."""

    def __init__(self, kafka: KafkaSettings, topics: list[str], lookback: float, on_record: Handler,
                 on_status: Callable[[], None] = lambda: None, recheck_seconds: float = 30.0) -> None:
        self.kafka = kafka
        self.topics = topics
        self.lookback = lookback
        self.on_record = on_record
        self.on_status = on_status
        self.recheck_seconds = recheck_seconds
        self.status = FeedStatus()
        self._positions: dict[Any, int] = {}  # TopicPartition -> next offset
        self._started_ms = int((time.time() - lookback) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        """Read until ``stop`` is set; reconnects with backoff (1 s doubling to 30 s)."""
        from aiokafka.errors import KafkaError

        delay = 1.0
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 1.0
            except (KafkaError, OSError) as exc:
                self._set("unreachable", (await self._why(exc))[:300])
                log.warning("console feed: %s; retrying in %.0f s", self.status.detail, delay)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 30.0)

    async def _why(self, exc: BaseException) -> str:
        """The one line of the page's banner and the log: cxpulse's words for a connection that failed."""
        from aiokafka.errors import KafkaConnectionError

        from cxpulse.clients import connection_failure_async

        if isinstance(exc, (KafkaConnectionError, OSError)):
            return await connection_failure_async(self.kafka, exc)  # names bad credentials or certificates too
        return f"Kafka at {self.kafka.bootstrap_servers}: {exc}"

    async def _session(self, stop: asyncio.Event) -> None:
        from aiokafka import AIOKafkaConsumer

        from cxpulse.clients import aiokafka_config

        consumer = AIOKafkaConsumer(**aiokafka_config(self.kafka), group_id=None, enable_auto_commit=False,
                                    request_timeout_ms=15000)
        try:
            await consumer.start()  # inside: a consumer that could not start is closed too (no "Unclosed" error)
            # The cluster's metadata once: the consumer's own holds only topics it was asked about.
            cluster = await consumer._client.fetch_all_metadata()
            partitions = {t: sorted(cluster.partitions_for_topic(t) or ()) for t in self.topics}
            missing = [t for t, found in partitions.items() if not found]
            self.status.missing_topics = missing
            assigned = await self._assign(consumer, {t: p for t, p in partitions.items() if p})
            ends = await consumer.end_offsets(assigned) if assigned else {}
            self._set("loading" if self._behind(assigned, ends) else "live", "")
            await self._follow(consumer, assigned, ends, stop, bool(missing))
        finally:
            await consumer.stop()

    async def _assign(self, consumer: Any, partitions: dict[str, list[int]]) -> list[Any]:
        from aiokafka import TopicPartition

        assigned = [TopicPartition(t, p) for t, found in partitions.items() for p in found]
        consumer.assign(assigned)
        fresh = [tp for tp in assigned if tp not in self._positions]
        found = await consumer.offsets_for_times({tp: self._started_ms for tp in fresh}) if fresh else {}
        for tp in assigned:
            if tp in self._positions:
                consumer.seek(tp, self._positions[tp])  # a new session goes on where the last one was
            elif found.get(tp) is None:
                await consumer.seek_to_end(tp)  # nothing that recent: from the end
            else:
                consumer.seek(tp, found[tp].offset)
        for tp in assigned:
            self._positions[tp] = await consumer.position(tp)
        return assigned

    def _behind(self, assigned: list[Any], ends: dict[Any, int]) -> bool:
        return any(self._positions.get(tp, 0) < ends.get(tp, 0) for tp in assigned)

    async def _follow(self, consumer: Any, assigned: list[Any], ends: dict[Any, int], stop: asyncio.Event,
                      recheck: bool) -> None:
        recheck_at = time.monotonic() + self.recheck_seconds
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    self._record(tp.topic, record.value)
            if batches or self.status.kafka != "live":
                for tp in assigned:  # also past control records and compacted gaps
                    self._positions[tp] = await consumer.position(tp)
            if self.status.kafka != "live" and not self._behind(assigned, ends):
                self._set("live", "")
            elif batches:
                self.on_status()
            if recheck and time.monotonic() >= recheck_at:
                recheck_at = time.monotonic() + self.recheck_seconds
                if set(self.status.missing_topics) & set(await consumer.topics()):
                    return  # a missing topic appeared: a new session assigns it

    def _record(self, topic: str, value: bytes | None) -> None:
        try:
            data = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            return
        if isinstance(data, dict):
            self.status.records += 1
            self.on_record(topic, data)

    def _set(self, state: str, detail: str) -> None:
        self.status.kafka, self.status.detail = state, detail
        self.on_status()

