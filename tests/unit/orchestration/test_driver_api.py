"""What only the single-process reader (EngineDriver) has: finish, advance, hooks, keyed partitions.

The clock, sweep and incident behaviour both readers share is tested once, through both,
in test_clocks.py and test_incidents.py.
"""

from cxpulse.processors.engine import EngineDriver, EngineSettings, key_partition

from tests.unit.engine.factories import DAY, HOUR, T0_EPOCH, EventFactory

GRACE = EngineSettings().sla_grace_seconds


def test_finish_checks_up_to_the_final_clock_or_a_given_end():
    f = EventFactory()
    driver = EngineDriver()
    driver.feed(f.ticket(0, due=HOUR))
    assert driver.finish() == []
    assert [x.rule for x in driver.finish(until=T0_EPOCH + 2 * HOUR)] == ["sla_breach"]
    assert [x.rule for x in driver.alerts] == ["sla_breach"]


def test_advance_moves_the_clock_and_breaches_what_fell_due_after_the_grace():
    driver = EngineDriver()
    driver.feed(EventFactory().ticket(0, due=HOUR))
    assert driver.advance(T0_EPOCH + HOUR + GRACE) == []  # due means strictly before the clock less the grace
    assert [x.rule for x in driver.advance(T0_EPOCH + HOUR + GRACE + 1)] == ["sla_breach"]
    assert driver.clock == T0_EPOCH + HOUR + GRACE + 1 and len(driver.alerts) == 1


def test_the_end_of_the_stream_decides_every_incident_window():
    driver = EngineDriver(EngineSettings(incident_customers=3))
    for i in range(3):
        driver.feed(EventFactory(customer_id=f"C-{i}", service_type="outage").call(i))
    assert [x.rule for x in driver.finish()] == ["incident"]
    assert list(driver.incident_states) == ["outage"]


def test_duplicates_are_counted():
    event = EventFactory().feedback(0, "csat", 1)
    driver = EngineDriver()
    driver.feed(event)
    driver.feed(event)
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


def test_without_a_partition_the_key_partition_is_used_when_the_count_is_known():
    a, d = EventFactory(customer_id="A"), EventFactory(customer_id="D")
    assert key_partition(b"A", 6) != key_partition(b"D", 6)
    keyed, explicit = EngineDriver(partitions=6), EngineDriver()
    for driver, parts in ((keyed, (None, None)), (explicit, (key_partition(b"A", 6), key_partition(b"D", 6)))):
        driver.feed(a.ticket(0, due=HOUR, event_id="t1"), partition=parts[0])
        assert driver.feed(d.call(DAY, event_id="c1"), partition=parts[1]) == []
    assert keyed.clocks.clocks == explicit.clocks.clocks and len(keyed.clocks.clocks) == 2


def test_without_record_times_the_clock_follows_event_times():
    # A plain event file carries no record time: nothing bounds the clock (docs/rules.md).
    a, b = EventFactory(customer_id="A"), EventFactory(customer_id="B")
    driver = EngineDriver()
    driver.feed(a.ticket(0, due=HOUR))
    assert [x.customer_id for x in driver.feed(b.call(23 * HOUR))] == ["A"]


def test_the_grace_changes_when_a_breach_is_found_never_what_is_found():
    """The golden stream (tests/unit/engine/golden.py) with and without the grace: the same alerts."""
    from cxpulse.schemas import parse_event

    from tests.unit.engine.golden import golden_lines

    lines = golden_lines()
    found = {}
    for grace in (0.0, 60.0):
        driver = EngineDriver(EngineSettings(sla_grace_seconds=grace))
        for line in lines:
            driver.feed(parse_event(line))
        driver.finish()
        found[grace] = sorted(a.model_dump_json() for a in driver.alerts)
    assert sum('"sla_breach"' in a for a in found[0.0]) > 50
    assert found[0.0] == found[60.0]
