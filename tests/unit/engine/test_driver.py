"""EngineDriver: the stream clock, SLA sweeps across customers, incidents, hooks, restore."""

from cxpulse.processors.engine import EngineDriver, EngineSettings, SlaIndex

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


def test_inbound_contacts_feed_the_incident_rule():
    driver = EngineDriver(EngineSettings(incident_customers=3))
    for i in range(3):
        driver.feed(EventFactory(customer_id=f"C-{i}", service_type="outage").call(i * 60))
    assert [x.rule for x in driver.alerts] == ["incident"]
    assert list(driver.incident_states) == ["outage"]


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


def test_sla_index_pops_due_customers_once_in_due_order():
    index = SlaIndex()
    index.push(30.0, "B", "t2")
    index.push(10.0, "A", "t1")
    index.push(20.0, "B", "t3")
    index.push(40.0, "C", "t4")
    assert index.next_due() == 10.0
    assert index.pop_due(30.0) == ["A", "B"]  # strictly before the clock
    assert len(index) == 2 and index.pop_due(30.0) == []
    assert index.pop_due(100.0) == ["B", "C"]
    assert index.next_due() is None
