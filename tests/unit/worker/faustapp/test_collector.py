"""Consumer lag and faust's monitor, read at scrape time from a stand-in app."""

from collections import Counter, deque
from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from cxpulse.processors.worker.faustapp.collector import FaustCollector, consumer_lag


class TP(tuple):
    """faust's TP is a namedtuple (topic, partition)."""

    def __new__(cls, topic: str, partition: int):
        return super().__new__(cls, (topic, partition))

    topic = property(lambda self: self[0])
    partition = property(lambda self: self[1])


class FakeConsumer:
    def __init__(self, highwaters: dict, committed: dict, read: dict) -> None:
        self._highwaters, self._committed_offset, self._read_offset = highwaters, committed, read

    def highwater(self, tp):
        if tp not in self._highwaters:
            raise AssertionError("partition not assigned")  # what aiokafka does
        return self._highwaters[tp]


def _app(actives, consumer, rebalancing=False):
    monitor = SimpleNamespace(
        messages_received_by_topic=Counter({"cx.events": 120, "contacts": 30}),
        topic_buffer_full=Counter({TP("cx.events", 0): 2, TP("cx.events", 1): 1}),
        rebalances=3, messages_active=7, commit_latency=deque([10.0, 30.0, 20.0]),
    )
    assignor = SimpleNamespace(assigned_actives=lambda: set(actives))
    return SimpleNamespace(rebalancing=rebalancing, assignor=assignor, _consumer=consumer, monitor=monitor)


def test_lag_uses_the_committed_offset_then_the_read_offset():
    a, b, c = TP("cx.events", 0), TP("cx.events", 1), TP("cx.events", 2)
    consumer = FakeConsumer({a: 100, b: 50, c: 10}, {a: 90, b: None}, {b: 44})

    assert dict(consumer_lag(consumer, [a, b, c])) == {a: 10, b: 5}  # c: nothing known yet


def test_collector_reports_only_assigned_source_partitions():
    events0, events1 = TP("cx.events", 0), TP("cx.events", 1)
    changelog = TP("app-customer_to_state-changelog", 0)
    consumer = FakeConsumer({events0: 100, events1: 40, changelog: 5000}, {events0: 100, events1: 10, changelog: 1},
                            {})
    registry = CollectorRegistry()
    registry.register(FaustCollector(_app({events0, events1, changelog}, consumer), lambda: ["cx.events", "contacts"]))
    value = registry.get_sample_value

    assert value("cxpulse_consumer_lag_records", {"topic": "cx.events", "partition": "0"}) == 0
    assert value("cxpulse_consumer_lag_records", {"topic": "cx.events", "partition": "1"}) == 30
    assert value("cxpulse_consumer_lag_records", {"topic": changelog.topic, "partition": "0"}) is None
    assert value("cxpulse_worker_assigned_partitions", {"topic": "cx.events"}) == 2
    assert value("cxpulse_worker_assigned_partitions", {"topic": "contacts"}) == 0
    assert value("cxpulse_worker_rebalancing") == 0
    assert value("cxpulse_faust_messages_received_total", {"topic": "cx.events"}) == 120
    assert value("cxpulse_faust_stream_buffer_full_total", {"topic": "cx.events"}) == 3
    assert value("cxpulse_faust_rebalances_total") == 3
    assert value("cxpulse_faust_commit_latency_seconds") == 0.03


def test_collector_during_a_rebalance_reports_no_partitions():
    tp = TP("cx.events", 0)
    registry = CollectorRegistry()
    registry.register(FaustCollector(_app({tp}, FakeConsumer({tp: 9}, {tp: 1}, {}), rebalancing=True),
                                     lambda: ["cx.events"]))

    assert registry.get_sample_value("cxpulse_worker_rebalancing") == 1
    assert registry.get_sample_value("cxpulse_worker_assigned_partitions", {"topic": "cx.events"}) == 0
    assert registry.get_sample_value("cxpulse_consumer_lag_records", {"topic": "cx.events", "partition": "0"}) is None


def test_registering_does_not_touch_the_app():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the app's {name} was read at registration")

    registry = CollectorRegistry(auto_describe=True)
    registry.register(FaustCollector(Untouchable(), lambda: ["cx.events"]))
