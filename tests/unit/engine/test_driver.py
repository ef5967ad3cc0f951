"""EngineDriver: partition clocks, SLA sweeps across customers, idle partitions, incidents, hooks."""

from cxpulse.processors.engine import EngineDriver, EngineSettings, key_partition

from .factories import DAY, HOUR, T0_EPOCH, EventFactory


def test_the_stream_clock_breaches_other_customers_tickets():
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver()
    assert driver.feed(a.ticket(0, due=HOUR)) == []
    found = driver.feed(b.call(2 * HOUR))  # B's event moves the clock past A's due time
    assert [(x.rule, x.customer_id) for x in found] == [("sla_breach", "A")]
    assert driver.clock == T0_EPOCH + 2 * HOUR
    assert driver.feed(b.call(3 * HOUR)) == []  # breached once


def test_a_late_event_does_not_move_the_clock_back():
    f = EventFactory()
    driver = EngineDriver()
    driver.feed(f.call(DAY))
    driver.feed(f.call(0))
    assert driver.clock == T0_EPOCH + DAY


def test_an_already_overdue_ticket_breaches_at_once():
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver()
    driver.feed(b.call(DAY))
    found = driver.feed(a.ticket(0, due=HOUR))  # late, and overdue by the stream clock
    assert [(x.rule, x.customer_id) for x in found] == [("sla_breach", "A")]


def test_finish_checks_up_to_the_final_clock_or_a_given_end():
    f = EventFactory()
    driver = EngineDriver()
    driver.feed(f.ticket(0, due=HOUR))
    assert driver.finish() == []
    assert [x.rule for x in driver.finish(until=T0_EPOCH + 2 * HOUR)] == ["sla_breach"]
    assert [x.rule for x in driver.alerts] == ["sla_breach"]


def test_advance_moves_the_clock_and_breaches_what_fell_due():
    driver = EngineDriver()
    driver.feed(EventFactory().ticket(0, due=HOUR))
    assert driver.advance(T0_EPOCH + HOUR) == []  # due means strictly before the clock
    assert [x.rule for x in driver.advance(T0_EPOCH + HOUR + 1)] == ["sla_breach"]
    assert driver.clock == T0_EPOCH + HOUR + 1 and len(driver.alerts) == 1


def test_inbound_contacts_feed_the_incident_rule():
    driver = EngineDriver(EngineSettings(incident_customers=3))
    for i in range(3):
        driver.feed(EventFactory(customer_id=f"C-{i}", service_type="outage").call(i * 60))
    assert driver.alerts == []  # decided once the watermark is incident_late_tolerance past it
    driver.feed(EventFactory(customer_id="C-9", service_type="billing").call(4 * 60))
    assert [x.rule for x in driver.alerts] == ["incident"]
    assert driver.alerts[0].triggered_at.timestamp() == T0_EPOCH + 120
    assert list(driver.incident_states) == ["outage", "billing"]


def test_the_end_of_the_stream_decides_every_incident_window():
    driver = EngineDriver(EngineSettings(incident_customers=3))
    for i in range(3):
        driver.feed(EventFactory(customer_id=f"C-{i}", service_type="outage").call(i))
    assert [x.rule for x in driver.finish()] == ["incident"]


# --- partition clocks ---------------------------------------------------------------


def test_duplicates_are_counted_and_silent():
    f = EventFactory()
    driver = EngineDriver()
    event = f.feedback(0, "csat", 1)
    assert len(driver.feed(event)) == 1
    assert driver.feed(event) == []
    assert driver.events == 2 and driver.duplicates == 1


def test_hook_sees_every_event_with_its_score_and_alerts():
    seen = []
    driver = EngineDriver(on_step=lambda event, result, alerts: seen.append(
        (event.event_id, round(result.score, 1), [a.rule for a in alerts])))
    f = EventFactory()
    driver.feed(f.call(0, event_id="x"))
    driver.feed(f.feedback(1, "csat", 1, event_id="y"))
    driver.feed(f.feedback(1, "csat", 1, event_id="y"))
    assert seen == [("x", 98.0, []), ("y", 83.0, ["detractor"]), ("y", 83.0, [])]


def test_keep_alerts_false_keeps_memory_flat():
    driver = EngineDriver(keep_alerts=False)
    assert len(driver.feed(EventFactory().feedback(0, "csat", 1))) == 1
    assert driver.alerts == []


def test_a_ticket_breaches_by_its_own_partitions_clock_not_a_faster_one():
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver()
    driver.feed(a.ticket(0, due=HOUR), partition=0)
    assert driver.feed(b.call(DAY), partition=1) == []  # partition 1 runs a day ahead
    assert driver.feed(a.ticket(HOUR - 60, action="resolved"), partition=0) == []  # on time on its own partition
    assert driver.finish() == []


def test_a_ticket_breaches_when_its_own_partition_passes_the_due_time():
    a, c = EventFactory(customer_id="A"), EventFactory(customer_id="C")
    driver = EngineDriver()
    driver.feed(a.ticket(0, due=HOUR), partition=0)
    found = driver.feed(c.call(2 * HOUR), partition=0)
    assert [(x.rule, x.customer_id) for x in found] == [("sla_breach", "A")]


def test_an_idle_partition_follows_the_overall_clock_after_the_idle_period():
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver(EngineSettings(partition_idle_seconds=30))
    read = 1_000.0  # record times (seconds)
    driver.feed(a.ticket(0, due=HOUR), partition=0, received=read)
    assert driver.feed(b.call(DAY), partition=1, received=read + 29) == []  # partition 0 quiet for 29 s
    found = driver.feed(b.call(DAY + 1), partition=1, received=read + 30)  # quiet for 30 s: idle
    assert [(x.rule, x.customer_id) for x in found] == [("sla_breach", "A")]


def test_a_partition_that_is_heard_again_is_no_longer_idle():
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver(EngineSettings(partition_idle_seconds=30))
    driver.feed(a.call(0), partition=0, received=0.0)
    driver.feed(b.call(10), partition=1, received=40.0)  # partition 0 idle now
    driver.feed(a.ticket(20, due=HOUR), partition=0, received=41.0)  # heard again: its own clock
    assert driver.feed(b.call(DAY), partition=1, received=42.0) == []


def test_without_a_partition_the_key_partition_is_used_when_the_count_is_known():
    a, d = EventFactory(customer_id="A"), EventFactory(customer_id="D")
    assert key_partition(b"A", 6) != key_partition(b"D", 6)
    keyed, explicit = EngineDriver(partitions=6), EngineDriver()
    for driver, parts in ((keyed, (None, None)), (explicit, (key_partition(b"A", 6), key_partition(b"D", 6)))):
        driver.feed(a.ticket(0, due=HOUR, event_id="t1"), partition=parts[0])
        assert driver.feed(d.call(DAY, event_id="c1"), partition=parts[1]) == []
    assert keyed.clocks.clocks == explicit.clocks.clocks and len(keyed.clocks.clocks) == 2
