"""The gateway's memory of delivered (customer_id, event_id) pairs is bounded and LRU."""

from cxpulse.producers.recent import RecentIds


def test_remembers_and_evicts_the_least_recently_seen():
    recent = RecentIds(2)
    recent.add([("c1", "e1"), ("c1", "e2")])
    assert ("c1", "e1") in recent  # now the most recent

    recent.add([("c2", "e3")])

    assert ("c1", "e1") in recent and ("c2", "e3") in recent
    assert ("c1", "e2") not in recent
    assert len(recent) == 2


def test_the_same_event_id_for_another_customer_is_another_event():
    recent = RecentIds(10)
    recent.add([("c1", "e1")])

    assert ("c2", "e1") not in recent


def test_capacity_zero_remembers_nothing():
    recent = RecentIds(0)
    recent.add([("c1", "e1")])

    assert ("c1", "e1") not in recent
