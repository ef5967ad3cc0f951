import orjson
import pytest

from cxpulse.producers.runner import RunLimits, run_events
from cxpulse.producers.sink import DeliveryReport


class ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    def send(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))

    def close(self) -> DeliveryReport:
        return DeliveryReport(len(self.sent), len(self.sent))


class FakeClock:
    """Time that moves only when slept on, or by ``cost`` per reading (work being done)."""

    def __init__(self, cost: float = 0.0) -> None:
        self.now, self.cost, self.slept = 100.0, cost, []

    def __call__(self) -> float:
        self.now += self.cost
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def events(n: int, pulled: list[int] | None = None):
    for i in range(n):
        if pulled is not None:
            pulled.append(i)
        yield {"event_id": f"e{i}", "customer_id": f"c{i % 3}"}


def test_every_event_is_sent_keyed_by_customer_as_json():
    sink = ListSink()
    stats = run_events(events(5), sink, RunLimits())
    assert stats.emitted == 5 and stats.stopped_by == "end"
    assert sink.sent[4] == (b"c1", orjson.dumps({"event_id": "e4", "customer_id": "c1"}))


def test_count_stops_without_drawing_an_event_it_does_not_send():
    pulled: list[int] = []
    sink = ListSink()
    stats = run_events(events(100, pulled), sink, RunLimits(count=7))
    assert stats.stopped_by == "count" and len(sink.sent) == 7 and pulled == list(range(7))


def test_duration_stops_on_the_wall_clock():
    clock = FakeClock(cost=0.25)  # each clock reading is a quarter second later
    stats = run_events(events(1000), ListSink(), RunLimits(duration=10), clock=clock, sleep=clock.sleep)
    assert stats.stopped_by == "duration" and 30 <= stats.emitted <= 40


@pytest.mark.parametrize("rate", [1.0, 50.0, 1000.0])
def test_rate_spreads_events_evenly_against_the_start(rate):
    clock = FakeClock()
    stats = run_events(events(200), ListSink(), RunLimits(rate=rate), clock=clock, sleep=clock.sleep)
    assert stats.emitted == 200
    # one slot per event: the 200th is sent at 199 intervals, the end is found one slot later
    assert clock.slept == pytest.approx([1 / rate] * 200)
    assert stats.rate == pytest.approx(rate)


def test_a_slow_sink_is_not_paced_any_further():
    clock = FakeClock(cost=0.1)  # work already takes longer than the 20 ms interval
    run_events(events(50), ListSink(), RunLimits(rate=50), clock=clock, sleep=clock.sleep)
    assert clock.slept == []


def test_ctrl_c_while_pacing_draws_no_event_that_is_not_sent():
    pulled: list[int] = []

    def interrupting_sleep(seconds: float) -> None:
        if len(pulled) == 3:
            raise KeyboardInterrupt

    sink = ListSink()
    stats = run_events(events(10, pulled), sink, RunLimits(rate=1), clock=FakeClock(), sleep=interrupting_sleep)
    assert stats.stopped_by == "interrupted" and len(sink.sent) == len(pulled) == 3


def test_ctrl_c_ends_the_run_cleanly():
    def interrupted():
        yield {"event_id": "e0", "customer_id": "c"}
        raise KeyboardInterrupt

    sink = ListSink()
    stats = run_events(interrupted(), sink, RunLimits())
    assert stats.stopped_by == "interrupted" and stats.emitted == 1 and len(sink.sent) == 1
