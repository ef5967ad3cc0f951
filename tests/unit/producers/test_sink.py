"""The Kafka sink's accounting, with a stand-in producer whose acknowledgements the test decides.

The real producer against a real broker is exercised in tests/integration/producers.
"""

import io

from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotLeaderForPartitionError
from kafka.future import Future

from cxpulse.producers.sink import JsonlSink, KafkaSink


class StandInProducer:
    """Holds each send's future; ``flush`` settles them as ``outcomes`` say (None = never)."""

    def __init__(self, outcomes, raise_on_send=None, flush_raises=False):
        self.outcomes, self.raise_on_send, self.flush_raises = outcomes, raise_on_send, flush_raises
        self.futures, self.closed = [], False

    def send(self, topic, key=None, value=None):
        if self.raise_on_send and len(self.futures) in self.raise_on_send:
            self.futures.append(None)
            raise self.raise_on_send[len(self.futures) - 1]
        future = Future()
        self.futures.append(future)
        return future

    def flush(self, timeout=None):
        for future, outcome in zip(self.futures, self.outcomes, strict=False):
            if future is None or outcome is None:
                continue
            if isinstance(outcome, Exception):
                future.failure(outcome)
            else:
                future.success(outcome)
        if self.flush_raises:
            raise KafkaTimeoutError("flush timed out")

    def close(self, timeout=None):
        self.closed = True


def send_all(producer, n):
    sink = KafkaSink(producer, "t", flush_timeout=1)
    for i in range(n):
        sink.send(f"c{i}".encode(), b"{}")
    return sink.close()


def test_only_acknowledged_events_count_as_delivered():
    producer = StandInProducer(["ok", "ok", "ok"])
    report = send_all(producer, 3)
    assert (report.sent, report.delivered, report.failed) == (3, 3, 0) and producer.closed


def test_failed_acknowledgements_are_counted_by_error_type():
    producer = StandInProducer(["ok", NotLeaderForPartitionError(), MessageSizeTooLargeError(), MessageSizeTooLargeError()])
    report = send_all(producer, 4)
    assert report.delivered == 1 and report.failed == 3
    assert report.errors == {"MessageSizeTooLargeError": 2, "NotLeaderForPartitionError": 1}
    assert report.describe_errors() == "MessageSizeTooLargeError x2, NotLeaderForPartitionError x1"


def test_a_send_that_raises_is_a_failure_not_a_crash():
    producer = StandInProducer(["ok", None, "ok"], raise_on_send={1: KafkaTimeoutError("no metadata")})
    report = send_all(producer, 3)
    assert (report.sent, report.delivered, report.failed) == (3, 2, 1)
    assert report.errors == {"KafkaTimeoutError": 1}


def test_events_never_acknowledged_before_the_flush_gives_up_are_unconfirmed():
    producer = StandInProducer(["ok", None, None], flush_raises=True)
    report = send_all(producer, 3)
    assert report.delivered == 1 and report.errors == {"unconfirmed": 2}


def test_jsonl_sink_writes_one_line_per_value():
    stream = io.BytesIO()
    sink = JsonlSink(stream)
    sink.send(b"c1", b'{"a":1}')
    sink.send(b"c2", b'{"b":2}')
    report = sink.close()
    assert stream.getvalue() == b'{"a":1}\n{"b":2}\n' and report.delivered == 2 and report.failed == 0
