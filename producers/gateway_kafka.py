"""The ingest gateway's way into Kafka: one idempotent aiokafka producer, ``acks=all``.

The producer connects in the background and keeps trying while the brokers are away, so
the gateway starts (and answers 503) without Kafka. :meth:`KafkaWriter.write` returns
only when the broker acknowledged every record, and raises :class:`KafkaUnavailable`
otherwise: the gateway never answers 202 for a record that is not in the log.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from cxpulse.clients import connection_failure_async
from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

__all__ = ["KafkaUnavailable", "KafkaWriter"]

log = logging.getLogger(__name__)

_RETRY_MIN, _RETRY_MAX = 0.5, 5.0


class KafkaUnavailable(CxpulseError):
    """Kafka did not take the records (not connected, timed out, or refused)."""


class KafkaWriter:
    """Writes ``(key, value)`` records to the events topic and waits for their acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.topic = settings.topics.events
        self._producer: Any = None
        self._connector: asyncio.Task | None = None
        self._stopping = False

    @property
    def ready(self) -> bool:
        """True once the producer is connected (it reconnects by itself after that)."""
        return self._producer is not None

    async def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        self._connector = asyncio.create_task(self._connect(), name="cxpulse-gateway-kafka-connect")

    async def write(self, records: Sequence[tuple[bytes | None, bytes]], topic: str | None = None) -> None:
        """Produce ``records`` (to ``topic``, default the events topic) and wait for every
        acknowledgement, or raise :class:`KafkaUnavailable`."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("not connected to Kafka")
        timeout = self._settings.gateway.delivery_timeout_seconds
        try:
            async with asyncio.timeout(timeout):  # cheaper than wait_for: no task per request
                await self._send_all(producer, records, topic or self.topic)
        except TimeoutError:
            raise KafkaUnavailable(f"no acknowledgement within {timeout:g} s") from None
        except Exception as exc:  # aiokafka raises its own errors and OSError subclasses alike
            raise KafkaUnavailable(type(exc).__name__) from None

    async def _send_all(self, producer: Any, records: Sequence[tuple[bytes | None, bytes]], topic: str) -> None:
        futures: list[asyncio.Future] = []
        try:
            for key, value in records:
                futures.append(await producer.send(topic, value=value, key=key))
            for future in futures:  # each resolves when its batch is acknowledged
                await future
        except BaseException:
            for future in futures:  # the request is answered 503; their outcome no longer matters
                future.add_done_callback(_settle)
            raise

    async def healthy(self) -> bool:
        """True when connected and the brokers answer a metadata request that lists the topic."""
        producer = self._producer
        if producer is None:
            return False
        try:
            cluster = await asyncio.wait_for(
                producer.client.fetch_all_metadata(), self._settings.gateway.health_timeout_seconds
            )
        except Exception:  # a timeout or any client error means "not healthy"
            return False
        return bool(cluster.brokers()) and cluster.partitions_for_topic(self.topic) is not None

    async def stop(self) -> None:
        """Flush what is in flight and close the producer."""
        self._stopping = True
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
            await asyncio.gather(self._connector, return_exceptions=True)
        if self._producer is not None:
            producer, self._producer = self._producer, None
            timeout = self._settings.gateway.delivery_timeout_seconds
            try:
                async with asyncio.timeout(timeout):
                    await producer.stop()  # flushes what is pending
            except TimeoutError:
                # Kafka is away: what is still pending was answered 503, so nothing accepted is lost.
                log.warning("closed the Kafka producer with records undelivered after %g s", timeout)

    async def _connect(self) -> None:
        delay = _RETRY_MIN
        while not self._stopping:
            producer = self._new_producer()
            try:
                await producer.start()
            except Exception as exc:  # the brokers are not there yet, or refuse the credentials: try again
                await producer.stop()
                why = await connection_failure_async(self._settings.kafka, exc, self._settings.gateway.health_timeout_seconds)
                log.warning("%s; retrying in %.1f s", why, delay)
                await asyncio.sleep(delay)
                delay = min(_RETRY_MAX, delay * 2)
                continue
            self._producer = producer
            log.info("connected to Kafka; writing to %s", self.topic)
            return

    def _new_producer(self) -> Any:
        from aiokafka import AIOKafkaProducer

        from cxpulse.clients import aiokafka_config

        gateway = self._settings.gateway
        return AIOKafkaProducer(
            **aiokafka_config(self._settings.kafka),
            acks="all",
            # Retries after a lost acknowledgement do not write a record twice.
            enable_idempotence=True,
            linger_ms=gateway.linger_ms,
            request_timeout_ms=int(gateway.delivery_timeout_seconds * 1000),
            max_request_size=max(1024 * 1024, gateway.max_body_bytes + 1024),
        )


def _settle(future: asyncio.Future) -> None:
    """Retrieve a future's outcome so that asyncio does not log "exception was never retrieved"."""
    if not future.cancelled():
        future.exception()
