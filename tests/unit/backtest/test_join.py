"""The join of outcomes with the stream: who was active when, and who left within the horizon."""

from cxpulse.processors.backtest.outcomes import OutcomeEvent, OutcomeIndex

DAY = 86400.0
FIRST_SEEN = {"A": 10 * DAY, "B": 10 * DAY, "C": 20 * DAY}


def test_churn_before_the_first_event_and_for_unknown_customers_is_dropped_and_counted():
    index = OutcomeIndex([
        OutcomeEvent("A", 5 * DAY, "cancelled"),  # before A was ever seen
        OutcomeEvent("ghost", 12 * DAY, "cancelled", source="file"),  # never in the stream
        OutcomeEvent("B", 15 * DAY, "not_renewed", "price"),
    ], FIRST_SEEN)

    assert (index.counts.before_first_event, index.counts.unknown_customers, index.counts.kept) == (1, 1, 1)
    assert (index.counts.stream, index.counts.file) == (2, 1)
    assert index.active_at("A", 11 * DAY)  # its early "churn" does not make it gone
    assert index.churn_after("A", 0, 100 * DAY) is None
    assert index.counts.reasons == {"price": 1}
    assert index.churns() == [("B", 15 * DAY)]


def test_customers_with_no_outcome_stayed_and_are_active_once_seen():
    index = OutcomeIndex([], FIRST_SEEN)

    assert not index.active_at("C", 19 * DAY) and index.active_at("C", 20 * DAY)
    assert index.churn_after("C", 20 * DAY, 30 * DAY) is None
    assert not index.active_at("nobody", 50 * DAY)


def test_the_horizon_is_open_at_the_cutoff_and_closed_at_its_end():
    index = OutcomeIndex([OutcomeEvent("A", 20 * DAY, "cancelled")], FIRST_SEEN)

    assert index.churn_after("A", 20 * DAY, 5 * DAY) is None  # leaving at the cut-off itself: already gone
    assert not index.active_at("A", 20 * DAY)
    assert index.churn_after("A", 15 * DAY, 5 * DAY) == 20 * DAY
    assert index.churn_after("A", 14 * DAY, 5 * DAY) is None


def test_a_reactivated_customer_is_active_again_and_can_leave_again():
    index = OutcomeIndex([OutcomeEvent("A", 12 * DAY, "cancelled"), OutcomeEvent("A", 14 * DAY, "reactivated"),
                          OutcomeEvent("A", 30 * DAY, "downgraded")], FIRST_SEEN)

    assert not index.active_at("A", 13 * DAY) and index.active_at("A", 15 * DAY)
    assert index.churn_after("A", 15 * DAY, 20 * DAY) == 30 * DAY
    assert index.churns() == [("A", 12 * DAY), ("A", 30 * DAY)]


def test_the_same_outcome_from_the_stream_and_the_file_counts_once():
    index = OutcomeIndex([OutcomeEvent("B", 15 * DAY, "cancelled", source="stream"),
                          OutcomeEvent("B", 15 * DAY, "cancelled", source="file")], FIRST_SEEN)

    assert (index.counts.kept, index.counts.duplicates, index.counts.customers_who_left) == (1, 1, 1)
