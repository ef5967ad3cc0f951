"""Account events (outcomes): remembered by the state, no score signal, no rule (docs/rules.md, "Outcomes")."""

from cxpulse.processors.engine import CustomerState, EngineDriver, EngineSettings
from cxpulse.processors.engine.state import OUTCOME_STATE_VERSION, STATE_VERSION

from .factories import DAY, HOUR, T0_EPOCH, EventFactory, run


def _struggle(f: EventFactory) -> list:
    return [f.call(0, outcome="unresolved", complaint=True), f.call(HOUR, outcome="abandoned", wait=900),
            f.call(2 * HOUR, outcome="escalated")]


def test_an_account_event_moves_no_score_and_fires_nothing():
    f = EventFactory()
    before = run(_struggle(f))
    score, band, alerts = before.last.score, before.last.band_after, len(before.alerts)

    after = before.feed([f.account(5 * DAY, "cancelled", reason="price")])

    last = after.last
    assert (last.signals, last.alerts, last.contact, last.due, last.duplicate) == ((), [], None, (), False)
    assert (last.score, last.band_before, last.band_after) == (score, band, band)
    assert len(after.alerts) == alerts
    assert last.at == T0_EPOCH + 5 * DAY
    assert after.state.outcome == ("cancelled", T0_EPOCH + 5 * DAY)
    assert after.state.ref == T0_EPOCH + 2 * HOUR  # the score still refers to the last contact


def test_the_latest_outcome_by_event_time_is_kept_and_duplicates_change_nothing():
    f = EventFactory()
    cancelled = f.account(3 * DAY, "cancelled")
    r = run([f.call(0), cancelled, f.account(DAY, "downgraded"), f.account(2 * DAY, "reactivated")])
    assert r.state.outcome == ("cancelled", T0_EPOCH + 3 * DAY)

    again = r.feed([cancelled])
    assert again.last.duplicate and again.state.events_seen == 4


def test_a_first_event_that_is_an_outcome_makes_a_healthy_customer_with_no_band_before():
    r = run([EventFactory().account(0, "not_renewed")])

    assert (r.last.band_before, r.last.band_after, r.last.score) == (None, "healthy", 100.0)
    assert r.state.outcome == ("not_renewed", T0_EPOCH)


def test_an_outcome_does_not_breach_a_ticket_itself_but_the_partition_clock_still_does():
    f = EventFactory()
    opened = f.ticket(0, "T-1", due=HOUR)
    r = run([opened, f.account(2 * HOUR, "cancelled")])
    assert r.fired("sla_breach") == []  # the account event applies no rule

    driver = EngineDriver(EngineSettings())
    for event in (opened, f.account(2 * HOUR, "cancelled", event_id="acc-2")):
        driver.feed(event)
    assert [a.rule for a in driver.alerts] == ["sla_breach"]  # time passed: the clock found the breach


def test_the_state_bytes_stay_version_1_without_an_outcome_and_round_trip_with_one():
    f = EventFactory()
    plain = run([f.call(0)]).state
    assert plain.to_bytes().startswith(f"[{STATE_VERSION},".encode())

    state = run([f.call(0), f.account(DAY, "downgraded")]).state
    data = state.to_bytes()
    assert data.startswith(f"[{OUTCOME_STATE_VERSION},".encode())
    restored = CustomerState.from_bytes(data)
    assert restored == state and restored.outcome == ("downgraded", T0_EPOCH + DAY)
    assert CustomerState.from_bytes(plain.to_bytes()).outcome is None
