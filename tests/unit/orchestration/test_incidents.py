"""Incidents behind the watermark, through the replay and the worker; the watermark is never infinite."""

from cxpulse.processors.engine import EngineSettings, IncidentEngine, PartitionClocks
from cxpulse.processors.engine.clocks import INF, watermark_of
from cxpulse.processors.engine.state import NEVER
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.records import contact_record, mark_record

from tests.unit.worker.conftest import HOUR, T0, ListSink

from .conftest import occurred

SETTINGS = EngineSettings(incident_customers=3)


def incidents(alerts: list[dict]) -> list[tuple[str, str]]:
    return [(a["service_type"], a["triggered_at"]) for a in alerts if a["rule"] == "incident"]


def test_inbound_contacts_raise_an_incident_once_the_watermark_has_passed_the_window(reader_factory, events):
    reader = reader_factory(SETTINGS)
    outage = [events.call(i * 60, customer=f"O-{i}", service_type="outage") for i in range(3)]
    for event in outage:
        reader.read(0, event)
    assert incidents(reader.alerts) == []  # decided once the watermark is incident_late_tolerance past it
    reader.read(0, events.call(HOUR, customer="X"))
    assert incidents(reader.alerts) == [("outage", "2025-03-03T09:02:00Z")]
    (alert,) = [a for a in reader.alerts if a["rule"] == "incident"]
    assert alert["evidence"] == [e["event_id"] for e in outage]


def test_incidents_wait_for_every_partition_to_pass_the_window(reader_factory, events):
    reader = reader_factory(SETTINGS)
    read = T0.timestamp() + 2 * HOUR  # a backlog, read within seconds
    for i, partition in enumerate((0, 1, 0)):
        reader.read(partition, events.call(i * 60, customer=f"O-{i}", service_type="outage"), at=read + i)
    reader.read(0, events.call(HOUR, customer="X"), at=read + 5)
    assert incidents(reader.alerts) == []  # partition 1 still at 60 s
    reader.read(1, events.call(HOUR, customer="Y"), at=read + 6)
    reader.read(0, events.call(HOUR + 120, customer="X"), at=read + 7)  # (the replay looks once a minute)
    assert incidents(reader.alerts) == [("outage", "2025-03-03T09:02:00Z")]


def test_an_idle_partition_does_not_hold_the_incidents_back(reader_factory, events):
    reader = reader_factory(SETTINGS)
    read = occurred(events.call(0)) + 2 * HOUR  # a backlog, read within seconds
    for i in range(3):
        reader.read(0, events.call(i * 60, customer=f"O-{i}", service_type="outage"), at=read + i)
    reader.read(1, events.call(10, customer="Q"), at=read)  # partition 1 goes quiet at 10 s
    reader.read(0, events.call(HOUR, customer="X"), at=read + 5)
    assert incidents(reader.alerts) == []
    reader.wait(read + 31)  # partition 1 idle: partition 0 alone sets the watermark
    reader.read(0, events.call(HOUR + 120, customer="X"), at=read + 32)
    assert incidents(reader.alerts) == [("outage", "2025-03-03T09:02:00Z")]


def test_the_watermark_is_never_infinite():
    assert watermark_of([], NEVER) == NEVER
    assert watermark_of([INF, INF], 500.0) == 500.0  # every partition idle: the overall clock
    assert watermark_of([INF, 7.0, 9.0], 500.0) == 7.0
    clocks = PartitionClocks(idle_after=30)
    clocks.add(0, now=0.0)
    clocks.add(1, now=0.0)  # assigned, never read: no clock yet
    clocks.observe(0, 100.0)
    clocks.refresh(31.0)  # both idle
    assert clocks.watermark() == 100.0


def _contact(n: int, at: float) -> tuple[bytes | None, bytes]:
    from cxpulse.processors.engine import Contact
    return contact_record(Contact("outage", f"C-{n}", at, f"e-{n}"))


class Msg:
    def __init__(self, key: bytes | None, value: bytes, partition: int = 0) -> None:
        self.key, self.value, self.partition = key, value, partition


def test_marks_of_partitions_with_no_clock_yet_do_not_decide_the_burst_read_next():
    """Issue 14.9: after a restart every partition was idle with no clock yet (+inf); the
    watermark +inf was remembered, and the incident of the burst read next never raised."""
    processor = IncidentProcessor(IncidentEngine(SETTINGS), {}, "alerts", "changelog")
    t = T0.timestamp()
    raised: list = []
    processor.process([Msg(None, mark_record({0: INF, 1: INF}, 2))], ListSink(), ListSink(), "x", raised)
    burst = [Msg(*_contact(n, t + n)) for n in range(3)]
    processor.process(burst, ListSink(), ListSink(), "x", raised)
    assert raised == []
    # Traffic again, lag 0: the partitions' clocks pass the burst.
    processor.process([Msg(None, mark_record({0: t + HOUR, 1: t + HOUR}, 2, t + HOUR))], ListSink(), ListSink(),
                      "x", raised)
    assert [(a.rule, a.triggered_at.timestamp()) for a in raised] == [("incident", t + 2)]


def test_marks_of_idle_partitions_decide_up_to_the_overall_clock_they_carry():
    processor = IncidentProcessor(IncidentEngine(SETTINGS), {}, "alerts", "changelog")
    t = T0.timestamp()
    raised: list = []
    burst = [Msg(*_contact(n, t + n)) for n in range(3)]
    processor.process(burst, ListSink(), ListSink(), "x", raised)
    processor.process([Msg(None, mark_record({0: INF, 1: INF}, 2, t + 30))], ListSink(), ListSink(), "x", raised)
    assert raised == [] and processor.watermark(0) == t + 30  # not past the late tolerance yet
    processor.process([Msg(None, mark_record({0: INF, 1: INF}, 2, t + HOUR))], ListSink(), ListSink(), "x", raised)
    assert [a.rule for a in raised] == ["incident"]
    more = [Msg(*_contact(n, t + 2 * HOUR + n)) for n in range(10, 13)]  # a second burst, an hour later
    processor.process(more + [Msg(None, mark_record({0: t + 3 * HOUR, 1: t + 3 * HOUR}, 2, t + 3 * HOUR))],
                      ListSink(), ListSink(), "x", raised)
    assert [a.rule for a in raised] == ["incident", "incident"]
