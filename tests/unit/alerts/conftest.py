"""Builders for alert records and fakes of the router's two interfaces.

    alert_factory(**fields) -> dict     an alert as the worker writes it (JSON-ready dict)
    FakeSource(batches)                  an AlertSource: hands out batches, records commits and keepalives
    FakeAlertmanager(failures=[...])     an AlertSink: raises the given DeliveryErrors first, then accepts
"""

import itertools
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from cxpulse.alerts.alertmanager import DeliveryError
from cxpulse.alerts.router import Batch


class FakeSource:
    def __init__(self, batches: list[list[bytes | None]]) -> None:
        self.batches = [Batch(values, position=i) for i, values in enumerate(batches)]
        self.committed: list[Any] = []
        self.keepalives = 0
        self.refuse_commits = False

    def poll(self, timeout: float, max_records: int) -> Batch | None:
        return self.batches.pop(0) if self.batches else None

    def commit(self, batch: Batch) -> bool:
        if self.refuse_commits:
            return False
        self.committed.append(batch.position)
        return True

    def keepalive(self) -> None:
        self.keepalives += 1


class FakeAlertmanager:
    """Accepts alerts after raising ``failures`` in order; ``reject`` refuses alerts whose id it names."""

    def __init__(self, failures: list[DeliveryError] | None = None, reject: set[str] | None = None,
                 on_post: Callable[[], None] | None = None) -> None:
        self.failures = list(failures or [])
        self.reject = reject or set()
        self.accepted: list[dict[str, Any]] = []
        self.posts = 0
        self.on_post = on_post

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self.posts += 1
        if self.on_post:
            self.on_post()
        if self.failures:
            raise self.failures.pop(0)
        if any(a["labels"]["alert_id"] in self.reject for a in alerts):
            raise DeliveryError("Alertmanager answered 400 to POST /api/v2/alerts: bad alert", retryable=False)
        self.accepted.extend(alerts)


@pytest.fixture
def alert_factory() -> Callable[..., dict[str, Any]]:
    ids = itertools.count(1)

    def build(**fields: Any) -> dict[str, Any]:
        n = next(ids)
        alert = {
            "alert_id": f"cxa-{n:04d}", "rule": "repeat_contact", "severity": "warning", "status": "firing",
            "customer_id": f"C-{n}", "service_type": "billing", "segment": "standard", "score": 61.25,
            "risk_band": "at_risk", "triggered_at": "2025-03-03T09:00:00+00:00",
            "emitted_at": "2025-03-03T09:00:05+00:00", "summary": f"C-{n} contacted billing 3 times within 72 h",
            "evidence": ["e1", "e2", "e3"],
        }
        alert.update(fields)
        return alert

    return build


def record(alert: dict[str, Any]) -> bytes:
    return orjson.dumps(alert)
