"""Consumer lag and faust's own statistics, read at scrape time (nothing per event).

faust keeps a :class:`faust.sensors.Monitor` on every app (messages by topic,
rebalances, commit latencies, full stream buffers) and the consumer knows each assigned
partition's high-water mark and committed offset. This collector turns them into
Prometheus families when ``/metrics`` is scraped.

Why not ``faust.sensors.prometheus``: it works with faust-streaming 0.15, but it adds
four to six ``prometheus_client`` operations per message on top of the default monitor,
and its names fail ``promtool check metrics`` (latencies in milliseconds named
``*_ms``/``*_latency``, ``*_total_events_total``, ``offset_commited``). Reading the
default monitor gives the same numbers, under the project's names, for free.

Only partitions this worker has assigned are reported, so several workers sum up.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["FaustCollector", "consumer_lag"]


def consumer_lag(consumer: Any, partitions: Iterable[Any]) -> Iterator[tuple[Any, int]]:
    """``(tp, lag)`` for each partition with a known high-water mark: records not yet committed.

    The committed offset is the next offset the group reads; before the first commit of
    this assignment, the next offset after the last one delivered stands in.
    """
    committed = getattr(consumer, "_committed_offset", {})
    read = getattr(consumer, "_read_offset", {})
    for tp in partitions:
        try:
            end = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - not (or no longer) assigned in aiokafka: no number
            continue
        position = committed.get(tp)
        if position is None:
            last = read.get(tp)
            position = None if last is None else last + 1
        if end is None or position is None:
            continue
        yield tp, max(0, end - position)


class FaustCollector(Collector):
    """Scrape-time view of one faust app: partitions, lag, rebalances, commits, buffers.

    ``topics`` are the source topics whose lag counts (the events topic and the
    contacts repartition topic); changelogs are recovery reads, not lag.
    """

    def __init__(self, app: Any, topics: Callable[[], Iterable[str]]) -> None:
        self.app = app
        self._topics = topics

    def describe(self) -> Iterable[Metric]:
        # Registering must not touch the app: faust's lazy attributes (monitor, loop,
        # assignor) would bind to the wrong event loop before the worker starts.
        return list(self._families(None, set()))

    def collect(self) -> Iterable[Metric]:
        return self._families(self.app, set(self._topics()))

    def _families(self, app: Any, topics: set[str]) -> Iterator[Metric]:
        rebalancing = bool(getattr(app, "rebalancing", False))
        actives = self._actives(app) if app is not None and not rebalancing else set()
        yield _gauge("cxpulse_worker_rebalancing", "1 while this worker's group is rebalancing.", 1 if rebalancing else 0)
        assigned = GaugeMetricFamily("cxpulse_worker_assigned_partitions",
                                     "Source-topic partitions assigned to this worker.", labels=["topic"])
        for topic in sorted(topics):
            assigned.add_metric([topic], sum(1 for tp in actives if tp.topic == topic))
        yield assigned
        yield self._lag(app, sorted((tp for tp in actives if tp.topic in topics), key=lambda tp: tuple(tp)))
        yield from _monitor_families(getattr(app, "monitor", None) if app is not None else _NO_MONITOR)

    @staticmethod
    def _actives(app: Any) -> set:
        try:
            return set(app.assignor.assigned_actives())
        except Exception:  # noqa: BLE001 - before the first assignment faust has none
            return set()

    @staticmethod
    def _lag(app: Any, partitions: list) -> GaugeMetricFamily:
        family = GaugeMetricFamily("cxpulse_consumer_lag_records",
                                   "Records in a source partition not yet committed by this worker's group.",
                                   labels=["topic", "partition"])
        consumer = getattr(app, "_consumer", None)  # never create one just to be scraped
        if consumer is not None and partitions:
            for tp, lag in consumer_lag(consumer, partitions):
                family.add_metric([tp.topic, str(tp.partition)], lag)
        return family


_NO_MONITOR = type("NoMonitor", (), {"messages_received_by_topic": {}, "topic_buffer_full": {}, "rebalances": 0,
                                       "messages_active": 0, "commit_latency": ()})()


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _monitor_families(monitor: Any) -> Iterator[Metric]:
    if monitor is None:
        return
    received = CounterMetricFamily("cxpulse_faust_messages_received", "Messages faust's consumer received, by topic.",
                                   labels=["topic"])
    for topic, count in sorted(dict(monitor.messages_received_by_topic).items()):
        received.add_metric([str(topic)], count)
    yield received
    full = CounterMetricFamily("cxpulse_faust_stream_buffer_full",
                               "Times a stream buffer was full (the agent could not keep up), by topic.",
                               labels=["topic"])
    by_topic: dict[str, int] = {}
    for tp, count in list(monitor.topic_buffer_full.items()):  # keyed by partition: sum per topic
        topic = str(getattr(tp, "topic", tp))
        by_topic[topic] = by_topic.get(topic, 0) + count
    for topic, count in sorted(by_topic.items()):
        full.add_metric([topic], count)
    yield full
    yield CounterMetricFamily("cxpulse_faust_rebalances", "Rebalances this worker took part in.",
                              value=monitor.rebalances or 0)
    yield _gauge("cxpulse_faust_messages_active", "Messages received and not yet acknowledged.",
                 monitor.messages_active)
    # Seconds (faust's Monitor.on_commit_completed appends monotonic() differences), the last
    # few hundred commits. Read as milliseconds until a test on the real Monitor: 1000x too small.
    latencies = list(monitor.commit_latency)
    yield _gauge("cxpulse_faust_commit_latency_seconds",
                 "Slowest of the recent offset commits (0 before the first).",
                 max(latencies) if latencies else 0.0)
