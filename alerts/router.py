"""``cxpulse alerts route``: alerts from the alerts topic to Prometheus Alertmanager, losing none.

Per batch: read records, turn each alert into an Alertmanager alert (labels,
annotations, ``startsAt``/``endsAt``; :mod:`cxpulse.alerts.payload`), post them in one
request, and commit the batch's offsets only after Alertmanager accepted it. While
Alertmanager is down or answers 5xx the router retries with exponential backoff (and
keeps its consumer-group membership alive); nothing is committed, so a router that is
stopped meanwhile leaves the batch to be read again. A payload Alertmanager rejects as
malformed (4xx) is retried alert by alert, and only the alerts it refuses are skipped
(counted as ``rejected``), so one bad alert cannot stall delivery. Records that are not
alerts are skipped and counted as ``invalid``.

Delivery is at least once: after a crash or a rebalance an alert may be posted twice;
Alertmanager merges alerts with the same labels, so people are not notified twice.

Incidents and the repeat contacts they explain get an ``incident`` label
(:mod:`cxpulse.alerts.inhibition`): after a batch with an incident, the repeat contacts
already delivered that it explains are re-posted with the label (and their unlabelled
copies ended) before the batch is committed.

The I/O sits behind two small interfaces (:class:`AlertSource`, :class:`AlertSink`), so
the retry and offset logic is tested with fakes and run with Kafka and Alertmanager.
"""

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import ValidationError

from cxpulse.schemas import Alert

from .active import ActiveAlerts
from .alertmanager import DeliveryError
from .inhibition import IncidentIndex
from .payload import alert_payload, identity_labels
from .router_metrics import RouterMetrics
from .settings import AlertsSettings

__all__ = ["AlertRouter", "AlertSink", "AlertSource", "Backoff", "Batch", "RouterTotals"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """Record values read together, and what the source needs to commit them."""

    values: list[bytes | None]
    position: Any = None


class AlertSource(Protocol):
    """Where alerts come from (the alerts topic, read by a consumer group)."""

    def poll(self, timeout: float, max_records: int) -> Batch | None: ...

    def commit(self, batch: Batch) -> bool:
        """Commit ``batch``; ``False`` when its partitions were taken away meanwhile."""
        ...

    def keepalive(self) -> None:
        """Stay in the consumer group while a batch waits for Alertmanager."""
        ...


class AlertSink(Protocol):
    """Where alerts go (Alertmanager); raises ``DeliveryError``."""

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None: ...


class Backoff:
    """Exponential backoff with jitter: ``initial``, doubling, capped at ``maximum``."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial, self.maximum = initial, maximum
        self._rng = rng or random.Random()
        self._next = initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.maximum)
        return delay * (0.8 + 0.4 * self._rng.random())  # +-20%: many routers do not retry in step

    def reset(self) -> None:
        self._next = self.initial


@dataclass
class RouterTotals:
    """What one run did."""

    delivered: int = 0
    invalid: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0
    uncommitted: int = 0  # batches delivered whose offsets could not be committed (rebalance)
    errors: list[str] = field(default_factory=list)


class AlertRouter:
    """Moves alerts from an :class:`AlertSource` to an :class:`AlertSink`."""

    def __init__(self, source: AlertSource, sink: AlertSink, settings: AlertsSettings,
                 metrics: RouterMetrics | None = None, stop: threading.Event | None = None,
                 now: Callable[[], datetime] | None = None, wait: Callable[[float], bool] | None = None,
                 backoff: Backoff | None = None, incident_window: float = 900.0) -> None:
        self.source, self.sink, self.settings = source, sink, settings
        self.incidents = IncidentIndex(incident_window)
        self.metrics = metrics
        self.stop = stop or threading.Event()
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._wait = wait or self.stop.wait  # returns True when stopped
        self.backoff = backoff or Backoff(settings.retry_initial_seconds, settings.retry_max_seconds)
        self.active = ActiveAlerts(settings.resend_max_alerts)
        self.totals = RouterTotals()
        self._last_resend = time.monotonic()

    def run(self, poll_seconds: float = 0.5) -> RouterTotals:
        """Route until ``stop`` is set."""
        while not self.stop.is_set():
            self.step(poll_seconds)
        return self.totals

    def step(self, poll_seconds: float = 0.5) -> bool:
        """Poll once and deliver what came; re-send the active alerts when due. ``True`` if a batch came."""
        batch = self.source.poll(poll_seconds, self.settings.batch_max)
        if batch is not None and batch.values:
            self.deliver(batch)
        if time.monotonic() - self._last_resend >= self.settings.resend_seconds:
            self.resend()
        return batch is not None and bool(batch.values)

    def deliver(self, batch: Batch) -> bool:
        """Deliver one batch, then commit it; ``False`` when stopped before Alertmanager accepted it."""
        now = self._now()
        alerts, payloads = self._payloads(batch.values, now)
        if payloads and not self._post_until_accepted(alerts, payloads):
            return False
        explained = sorted({a.service_type for a in alerts if a.rule == "incident"})
        if explained and not self._relabel(explained):
            return False
        self.totals.batches += 1
        if not self.source.commit(batch):
            self.totals.uncommitted += 1
            log.warning("could not commit %d alert(s): partitions were reassigned; they will be read again",
                        len(batch.values))
        return True

    def resend(self) -> None:
        """Re-send active alerts (best effort; the next re-send tries again)."""
        self._last_resend = time.monotonic()
        due = self.active.due(self._now().timestamp())
        if self.metrics:
            self.metrics.active.set(len(self.active))
        for start in range(0, len(due), self.settings.batch_max):
            try:
                self._post(due[start:start + self.settings.batch_max])
            except DeliveryError as exc:
                log.info("re-sending active alerts failed (next try in %g s): %s", self.settings.resend_seconds, exc)
                return
        if due and self.metrics:
            self.metrics.resends.inc()

    # -- internals ---------------------------------------------------------------------

    def _payloads(self, values: list[bytes | None], now: datetime) -> tuple[list[Alert], list[dict[str, Any]]]:
        alerts, payloads = [], []
        for value in values:
            try:
                alert = Alert.model_validate_json(value or b"")
            except ValidationError as exc:
                self._count("invalid")
                log.warning("skipped a record that is not an alert: %s", exc.errors(include_url=False)[0]["msg"])
                continue
            self.incidents.note_alert(alert)
            labels = self.active.labels_of(alert.alert_id) if alert.status == "resolved" else None
            if labels is None:
                labels = self.incidents.labels(alert, identity_labels(alert))
            alerts.append(alert)
            payloads.append(alert_payload(alert, now, self.settings.resolve_timeout_seconds,
                                          self.settings.customer_url, labels))
        return alerts, payloads

    def _post_until_accepted(self, alerts: list[Alert], payloads: list[dict[str, Any]], split: bool = True) -> bool:
        """Post until accepted (``True``) or stopped (``False``); a rejection splits the batch
        (or, with ``split=False``, raises)."""
        while True:
            try:
                self._post(payloads)
            except DeliveryError as exc:
                if not exc.retryable:
                    if not split:
                        raise
                    return self._one_by_one(alerts, payloads)
                if self._retry_wait(len(payloads), exc):
                    return False
                continue
            self.backoff.reset()
            self._accepted(alerts, payloads)
            return True

    def seed_incidents(self, incidents: list[dict[str, Any]]) -> int:
        """Remember the incidents Alertmanager still holds (``GET /api/v2/alerts`` entries), e.g.
        after a restart, so that repeat contacts read from here on get their label. Returns how many."""
        noted = 0
        for entry in incidents:
            labels, notes = entry.get("labels") or {}, entry.get("annotations") or {}
            try:
                moment = datetime.fromisoformat(str(notes["triggered_at"])).timestamp()
                noted += self.incidents.note(labels["service_type"], labels["alert_id"], moment)
            except (KeyError, ValueError):
                continue  # not one of ours
        return noted

    def _relabel(self, service_types: list[str]) -> bool:
        """Re-post the delivered repeat contacts that the incidents now explain; ``False`` when stopped."""
        now = self._now()
        moves = [m for svc in service_types for m in self.incidents.moves(self.active, svc, now)]
        if not moves:
            return True
        payloads = [p for move in moves for p in (move.ended, move.labelled)]
        while True:
            try:
                self._post(payloads)
                break
            except DeliveryError as exc:
                if not exc.retryable:
                    log.error("Alertmanager refused re-labelled repeat contacts (they stay unlabelled): %s", exc)
                    return True
                if self._retry_wait(len(payloads), exc):
                    return False
        self.backoff.reset()
        for move in moves:
            self.active.delivered(move.alert_id, move.labelled, move.ends, False)
        log.info("%d repeat contact(s) delivered earlier are explained by an incident: labelled", len(moves))
        return True

    def _retry_wait(self, count: int, exc: DeliveryError) -> bool:
        """Wait before the next try, staying in the group; ``True`` when stopped meanwhile."""
        self.totals.retries += 1
        delay = self.backoff.next()
        log.warning("Alertmanager did not take %d alert(s), retrying in %.1f s: %s", count, delay, exc)
        self.source.keepalive()
        return self._wait(delay)

    def _one_by_one(self, alerts: list[Alert], payloads: list[dict[str, Any]]) -> bool:
        for alert, payload in zip(alerts, payloads, strict=True):
            try:
                if not self._post_until_accepted([alert], [payload], split=False):
                    return False
            except DeliveryError as exc:
                self._count("rejected")
                self.totals.rejected += 1
                self.totals.errors.append(str(exc))
                log.error("Alertmanager rejected alert %s (%s): %s", alert.alert_id, alert.rule, exc)
        return True

    def _post(self, payloads: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        try:
            self.sink.post_alerts(payloads)
        except DeliveryError as exc:
            if self.metrics:
                self.metrics.posts.labels("failed" if exc.retryable else "rejected").inc()
                self.metrics.up.set(0 if exc.retryable else 1)
            raise
        if self.metrics:
            self.metrics.posts.labels("accepted").inc()
            self.metrics.post_seconds.observe(time.perf_counter() - started)
            self.metrics.up.set(1)

    def _accepted(self, alerts: list[Alert], payloads: list[dict[str, Any]]) -> None:
        now = self._now()
        for alert, payload in zip(alerts, payloads, strict=True):
            ends = datetime.fromisoformat(payload["endsAt"].replace("Z", "+00:00")).timestamp()
            self.active.delivered(alert.alert_id, payload, ends, alert.status == "resolved")
            if self.metrics and alert.emitted_at is not None:
                self.metrics.delay.observe(max(0.0, (now - alert.emitted_at).total_seconds()))
        self.totals.delivered += len(alerts)
        self._count("delivered", len(alerts))
        if self.metrics:
            self.metrics.active.set(len(self.active))

    def _count(self, outcome: str, amount: int = 1) -> None:
        if outcome == "invalid":
            self.totals.invalid += amount
        if self.metrics and amount:
            self.metrics.alerts.labels(outcome).inc(amount)
