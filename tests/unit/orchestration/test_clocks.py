"""Partition clocks, SLA sweeps and idle partitions: one set, through the replay and the worker.

(These were two mirrored sets, tests/unit/engine/test_driver.py and
tests/unit/worker/test_partition_clock.py, kept equal by hand.)
"""

from cxpulse.processors.engine import EngineSettings

from tests.unit.worker.conftest import DAY, HOUR, T0

from .conftest import breaches

T = T0.timestamp()
GRACE = EngineSettings().sla_grace_seconds


def test_the_stream_clock_breaches_other_customers_tickets(reader, events):
    assert reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR)) == []
    found = reader.read(0, events.call(2 * HOUR, customer="B"))  # B's event moves the clock past A's due time
    assert breaches(found) == [("A", "firing")]
    assert breaches(reader.read(0, events.call(3 * HOUR, customer="B"))) == []  # breached once


def test_a_breach_is_reported_right_after_the_event_that_passed_the_due_time(reader, events):
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR))
    found = reader.read(0, events.call(2 * HOUR, customer="C"))
    assert [a["rule"] for a in found][-1] == "sla_breach"
    assert found[-1]["triggered_at"] == "2025-03-03T10:00:00Z"  # at the due time, whenever it is found


def test_a_late_event_does_not_move_the_clock_back(reader, events):
    reader.read(0, events.call(DAY, customer="B"))
    reader.read(0, events.ticket(0, "T-1", customer="A", due=DAY - 2 * GRACE), at=T + DAY + 2)
    assert breaches(reader.alerts) == [("A", "firing")]  # overdue by the clock a day on


def test_an_already_overdue_ticket_breaches_at_once(reader, events):
    reader.read(0, events.call(DAY, customer="B"))
    found = reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=T + DAY + 2)
    assert breaches(found) == [("A", "firing")]


def test_a_partition_read_far_ahead_never_breaches_a_ticket_resolved_on_time_on_its_own(reader, events):
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=T + 1)
    # A backlog: partition 1 is read three days ahead (in five seconds) before partition 0's resolution.
    for h in range(1, 72):
        reader.read(1, events.call(h * HOUR, customer=f"B-{h}"), at=T + 2 + h / 20)
    reader.wait(T + 7)  # well within the idle period
    reader.read(0, events.ticket(HOUR - 60, "T-1", "resolved", customer="A"), at=T + 8)
    assert breaches(reader.alerts) == []


def test_a_ticket_breaches_when_its_own_partition_passes_the_due_time(reader, events):
    read = T + 2 * DAY  # a backlog, read two days later
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=read)
    assert reader.read(1, events.call(DAY, customer="B"), at=read + 1) == []  # partition 1 runs a day ahead
    found = reader.read(0, events.call(2 * HOUR, customer="C"), at=read + 2)
    assert breaches(found) == [("A", "firing")]


def test_an_idle_partition_follows_the_overall_clock_after_the_idle_period(reader, events):
    read = T + DAY + 10  # the records are read a day after partition 0's ticket
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=read)
    assert breaches(reader.read(1, events.call(DAY, customer="B"), at=read + 29)) == []  # partition 0 quiet 29 s
    assert breaches(reader.wait(read + 29.5)) == []
    assert breaches(reader.wait(read + 30)) == [("A", "firing")]  # idle: the overall clock (a day later) applies


def test_a_partition_that_is_heard_again_is_no_longer_idle(reader, events):
    read = T + DAY
    reader.read(0, events.call(0, customer="A"), at=read)
    reader.read(1, events.call(10, customer="B"), at=read + 40)
    reader.wait(read + 40)  # partition 0 idle now
    reader.read(0, events.ticket(20, "T-1", customer="A", due=HOUR), at=read + 41)  # heard again: its own clock
    assert breaches(reader.read(1, events.call(DAY, customer="B"), at=read + 42)) == []
    assert breaches(reader.wait(read + 43)) == []


def test_duplicates_change_nothing(reader, events):
    event = events.feedback(0, 1, customer="A")
    assert [a["rule"] for a in reader.read(0, event)] == ["detractor"]
    assert reader.read(0, event) == []


# --- the SLA grace (issue 14.4) -------------------------------------------------------


def test_a_ticket_read_behind_a_skewed_clock_is_not_breached_before_its_resolution(reader, events):
    # Partition 0's clock is 30 s past the ticket's due time when the ticket is read; its
    # resolution (on time) follows a moment later. Without the grace: fired, then retracted.
    reader.read(0, events.call(HOUR + 30, customer="B"))
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=T + HOUR + 31)
    reader.read(0, events.ticket(HOUR - 10, "T-1", "resolved", customer="A"), at=T + HOUR + 32)
    reader.read(0, events.call(2 * HOUR, customer="B"))
    assert breaches(reader.alerts) == []


def test_a_ticket_breaches_once_the_clock_has_passed_the_grace(reader, events):
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR))
    assert breaches(reader.read(0, events.call(HOUR + GRACE, customer="B"))) == []  # not past it yet
    assert breaches(reader.read(0, events.call(HOUR + GRACE + 1, customer="B"))) == [("A", "firing")]


def test_without_grace_the_clock_breaches_at_once(reader_factory, events):
    reader = reader_factory(EngineSettings(sla_grace_seconds=0))
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR))
    assert breaches(reader.read(0, events.call(HOUR + 1, customer="B"))) == [("A", "firing")]


def test_the_customers_own_later_event_breaches_without_grace(reader, events):
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR))
    assert breaches(reader.read(0, events.call(HOUR + 1, customer="A"))) == [("A", "firing")]


# --- one future-dated event (issue 14.4) ------------------------------------------------


def test_an_event_dated_ahead_of_its_record_does_not_breach_other_customers_tickets(reader, events):
    now = T + 10
    reader.read(0, events.ticket(0, "T-1", customer="A", due=2 * HOUR), at=now)
    reader.read(0, events.call(23 * HOUR, customer="B"), at=now + 1)  # dated 23 h ahead: allowed (limit 1 day)
    reader.read(0, events.call(20, customer="C"), at=now + 2)
    assert breaches(reader.alerts) == []
    reader.read(0, events.ticket(HOUR, "T-1", "resolved", customer="A"), at=T + HOUR + 5)  # on time
    reader.read(0, events.call(3 * HOUR, customer="C"), at=T + 3 * HOUR + 1)
    assert breaches(reader.alerts) == []


def test_an_event_dated_ahead_does_not_breach_tickets_on_an_idle_partition(reader, events):
    now = T + 10
    reader.read(0, events.ticket(0, "T-1", customer="A", due=2 * HOUR), at=now)
    reader.read(1, events.call(23 * HOUR, customer="B"), at=now + 1)
    for later in (28, 40, 100):  # partition 0 idle from 30 s on: it follows the overall clock
        reader.wait(now + later)
    assert breaches(reader.alerts) == []


def test_a_clock_lead_lets_event_times_run_ahead_of_record_times(reader_factory, events):
    reader = reader_factory(EngineSettings(stream_clock_lead_seconds=DAY))
    now = T + 10
    reader.read(0, events.ticket(0, "T-1", customer="A", due=2 * HOUR), at=now)
    found = reader.read(0, events.call(23 * HOUR, customer="B"), at=now + 1)
    assert breaches(found) == [("A", "firing")]  # the old behaviour, for sources whose record times lag


def test_a_clock_follows_record_times_when_events_run_ahead_of_them(reader, events):
    # Records written in the past of their events (a clock skewed at the source): the
    # clock stops at the record time, and the ticket breaches once record times pass it.
    reader.read(0, events.ticket(0, "T-1", customer="A", due=HOUR), at=T)
    reader.read(0, events.call(5 * HOUR, customer="B"), at=T + HOUR)
    assert breaches(reader.alerts) == []
    reader.read(0, events.call(6 * HOUR, customer="B"), at=T + HOUR + GRACE + 1)
    assert breaches(reader.alerts) == [("A", "firing")]
