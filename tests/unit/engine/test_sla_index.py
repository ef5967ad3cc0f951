"""The SLA index: due order, each customer once, and a size bounded by live tickets, not updates."""

from cxpulse.processors.engine import SlaIndex


def test_customers_come_out_in_due_order_each_once():
    index = SlaIndex()
    index.push(30.0, "c-2", "t-1")
    index.push(10.0, "c-1", "t-1")
    index.push(20.0, "c-2", "t-2")
    index.push(40.0, "c-3", "t-1")
    assert index.pop_due(35.0) == ["c-1", "c-2"]
    assert index.next_due() == 40.0
    assert index.pop_due(35.0) == []


def test_a_moved_due_time_counts_once_at_its_latest_time():
    index = SlaIndex()
    index.push(10.0, "c-1", "t-1")
    index.push(50.0, "c-1", "t-1")  # extended
    assert index.pop_due(20.0) == []  # the old due time is not reported
    assert index.pop_due(60.0) == ["c-1"]
    assert len(index) == 0


def test_moved_back_to_an_earlier_time_is_reported_at_that_time():
    index = SlaIndex()
    index.push(50.0, "c-1", "t-1")
    index.push(10.0, "c-1", "t-1")
    assert index.pop_due(20.0) == ["c-1"]
    assert index.pop_due(100.0) == []


def test_the_same_due_time_again_adds_nothing():
    index = SlaIndex()
    for _ in range(100):
        index.push(10.0, "c-1", "t-1")
    assert len(index.heap) == 1 and len(index) == 1


def test_many_updates_of_a_thousand_tickets_keep_the_heap_bounded():
    index = SlaIndex()
    tickets = 1000
    for n in range(200_000):
        index.push(1_000_000.0 + n, f"c-{n % tickets}", "t")  # every update moves the due time
        assert len(index.heap) <= 2 * tickets + 1024 + 1
    assert len(index) == tickets
    due = index.pop_due(float("inf"))
    assert sorted(due) == sorted(f"c-{n}" for n in range(tickets))
    assert index.heap == [] and len(index) == 0
