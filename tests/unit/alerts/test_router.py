"""The router's retries and offsets, against fakes of the alerts topic and Alertmanager."""

import random
import threading
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry

from cxpulse.alerts.alertmanager import DeliveryError
from cxpulse.alerts.router import AlertRouter, Backoff
from cxpulse.alerts.router_metrics import RouterMetrics
from cxpulse.alerts.settings import AlertsSettings

from .conftest import FakeAlertmanager, FakeSource, record

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
DOWN = DeliveryError("Alertmanager at http://am not reachable: connection refused", retryable=True)


class Waits:
    """Stands in for sleeping: records each delay; ``stop_after`` sets the stop event at that wait."""

    def __init__(self, stop: threading.Event, stop_after: int | None = None) -> None:
        self.delays: list[float] = []
        self.stop, self.stop_after = stop, stop_after

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        if self.stop_after is not None and len(self.delays) >= self.stop_after:
            self.stop.set()
        return self.stop.is_set()


def _router(source, sink, stop_after=None, **settings):
    stop = threading.Event()
    waits = Waits(stop, stop_after)
    registry = CollectorRegistry()
    router = AlertRouter(source, sink, AlertsSettings(**settings), RouterMetrics(registry), stop, now=lambda: NOW,
                         wait=waits, backoff=Backoff(0.5, 4.0, random.Random(1)))
    return router, waits, registry


def test_a_batch_is_committed_after_alertmanager_accepted_it(alert_factory):
    alerts = [alert_factory() for _ in range(3)]
    source, am = FakeSource([[record(a) for a in alerts]]), FakeAlertmanager()
    router, waits, registry = _router(source, am)

    assert router.step() is True

    assert [a["labels"]["alert_id"] for a in am.accepted] == [a["alert_id"] for a in alerts]
    assert am.posts == 1  # one request per batch
    assert source.committed == [0]
    assert waits.delays == []
    assert registry.get_sample_value("cxpulse_router_alerts_total", {"outcome": "delivered"}) == 3
    assert registry.get_sample_value("cxpulse_router_alertmanager_up") == 1


def test_alertmanager_down_retries_with_backoff_and_commits_only_after_acceptance(alert_factory):
    events = []
    source = FakeSource([[record(alert_factory())]])
    am = FakeAlertmanager(failures=[DOWN] * 4, on_post=lambda: events.append(("post", list(source.committed))))
    router, waits, registry = _router(source, am)

    router.step()

    # every failed attempt happened with nothing committed; the commit came after the fifth post
    assert [committed for _, committed in events] == [[]] * 5
    assert source.committed == [0]
    assert len(am.accepted) == 1
    assert len(waits.delays) == 4
    nominal = [0.5, 1.0, 2.0, 4.0]
    assert all(0.8 * n <= d <= 1.2 * n for d, n in zip(waits.delays, nominal, strict=True))  # doubling, with jitter
    assert source.keepalives == 4  # group membership kept while waiting
    assert registry.get_sample_value("cxpulse_router_posts_total", {"result": "failed"}) == 4
    assert registry.get_sample_value("cxpulse_router_posts_total", {"result": "accepted"}) == 1


def test_backoff_is_capped_and_resets_after_success(alert_factory):
    source = FakeSource([[record(alert_factory())], [record(alert_factory())]])
    am = FakeAlertmanager(failures=[DOWN] * 6)
    router, waits, _ = _router(source, am)

    router.step()
    assert max(waits.delays) <= 4.0 * 1.2
    assert waits.delays[-1] >= 4.0 * 0.8  # reached the cap
    am.failures = [DOWN]
    router.step()
    assert 0.4 <= waits.delays[-1] <= 0.6  # started over at the initial delay
    assert source.committed == [0, 1]


def test_stopping_while_alertmanager_is_down_commits_nothing(alert_factory):
    source = FakeSource([[record(alert_factory())]])
    am = FakeAlertmanager(failures=[DOWN] * 100)
    router, waits, _ = _router(source, am, stop_after=3)

    totals = router.run()

    assert source.committed == []  # the batch will be read again by the next router
    assert am.accepted == []
    assert totals.delivered == 0 and totals.retries == 3


def test_a_malformed_alert_is_skipped_and_the_rest_delivered(alert_factory):
    good, bad, other = alert_factory(), alert_factory(), alert_factory()
    source = FakeSource([[record(good), record(bad), record(other)]])
    am = FakeAlertmanager(reject={bad["alert_id"]})
    router, _, registry = _router(source, am)

    router.step()

    assert [a["labels"]["alert_id"] for a in am.accepted] == [good["alert_id"], other["alert_id"]]
    assert source.committed == [0]
    assert router.totals.rejected == 1
    assert registry.get_sample_value("cxpulse_router_alerts_total", {"outcome": "rejected"}) == 1


def test_records_that_are_not_alerts_are_counted_and_skipped(alert_factory):
    good = alert_factory()
    source = FakeSource([[b"{not json", None, record({**alert_factory(), "rule": "no_such_rule"}), record(good)]])
    am = FakeAlertmanager()
    router, _, registry = _router(source, am)

    router.step()

    assert [a["labels"]["alert_id"] for a in am.accepted] == [good["alert_id"]]
    assert source.committed == [0]
    assert registry.get_sample_value("cxpulse_router_alerts_total", {"outcome": "invalid"}) == 3


def test_a_batch_of_only_invalid_records_is_committed_without_a_request():
    source = FakeSource([[b"junk"]])
    am = FakeAlertmanager()
    router, _, _ = _router(source, am)

    router.step()

    assert am.posts == 0 and source.committed == [0]


def test_resolved_alert_reuses_the_labels_it_fired_with(alert_factory):
    fired = alert_factory(alert_id="cxa-77", segment="standard")
    resolved = {**fired, "status": "resolved", "segment": "vip"}
    source = FakeSource([[record(fired)], [record(resolved)]])
    am = FakeAlertmanager()
    router, _, _ = _router(source, am)

    router.step()
    router.step()

    assert am.accepted[1]["labels"] == am.accepted[0]["labels"]
    assert am.accepted[1]["endsAt"] == "2025-03-03T10:00:00.000Z"
    assert len(router.active) == 0


def test_active_alerts_are_re_sent_until_they_expire(alert_factory):
    short = alert_factory(emitted_at="2025-03-03T09:59:00+00:00")  # ends at 10:00 + ... see resolve timeout
    long = alert_factory(emitted_at="2025-03-03T09:59:30+00:00")
    source = FakeSource([[record(short), record(long)]])
    am = FakeAlertmanager()
    router, _, registry = _router(source, am, resolve_timeout_seconds=45)

    router.step()
    am.accepted.clear()
    router.resend()  # at 10:00: short ended at 09:59:45, long ends at 10:00:15

    assert [a["labels"]["alert_id"] for a in am.accepted] == [long["alert_id"]]
    assert registry.get_sample_value("cxpulse_router_active_alerts") == 1


def test_a_commit_refused_after_a_rebalance_is_reported_not_fatal(alert_factory):
    source = FakeSource([[record(alert_factory())]])
    source.refuse_commits = True
    router, _, _ = _router(source, FakeAlertmanager())

    assert router.step() is True
    assert router.totals.uncommitted == 1
