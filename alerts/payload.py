"""An alert from ``cx.alerts`` as an alert of Alertmanager's v2 API (``POST /api/v2/alerts``).

Labels identify the alert and drive routing, grouping and inhibition:
``alertname`` (the rule), ``alert_id``, ``severity``, ``service_type``, ``segment`` and
``customer_id`` (customer alerts only; supervisors need it, and Alertmanager is where
it is meant to go). Annotations carry what a person reads: summary, evidence, score,
risk band, the event time, and a link to the customer (:func:`customer_link_template`:
your own page, or the supervisor console's customer view; never the worker's read API,
which needs a token a browser following a link does not send).

Time: ``startsAt`` is when the alert was triggered (event time; the emission time if
that is earlier); ``endsAt`` is the emission time plus the resolve timeout, so alerts
expire on their own. A ``resolved`` alert from the engine ends now.
"""

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from cxpulse.processors.engine.alerting import score_text
from cxpulse.schemas import Alert

from .settings import AlertsSettings, ConsoleSettings

__all__ = ["alert_payload", "customer_link_template", "identity_labels", "rfc3339"]


def rfc3339(moment: datetime) -> str:
    """UTC, milliseconds, ``Z`` — the form Alertmanager prints back."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def identity_labels(alert: Alert) -> dict[str, str]:
    """The labels of one alert (its identity in Alertmanager)."""
    labels = {"alertname": alert.rule, "alert_id": alert.alert_id, "severity": alert.severity,
              "service_type": alert.service_type}
    if alert.segment is not None:
        labels["segment"] = alert.segment
    if alert.customer_id is not None:
        labels["customer_id"] = alert.customer_id
    return labels


def alert_payload(alert: Alert, now: datetime, resolve_timeout: float, customer_url: str = "",
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The Alertmanager v2 alert for ``alert``; ``labels`` overrides the identity (see the router)."""
    emitted = alert.emitted_at or now
    starts = min(alert.triggered_at, emitted)
    ends = now if alert.status == "resolved" else emitted + timedelta(seconds=resolve_timeout)
    payload: dict[str, Any] = {
        "labels": labels or identity_labels(alert),
        "annotations": _annotations(alert, customer_url),
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(max(ends, starts)),
    }
    link = _link(alert, customer_url)
    if link:
        payload["generatorURL"] = link
    return payload


def _annotations(alert: Alert, customer_url: str) -> dict[str, str]:
    notes = {"summary": alert.summary, "evidence": ", ".join(alert.evidence),
             "triggered_at": rfc3339(alert.triggered_at)}
    if alert.score is not None:
        notes["score"] = score_text(alert.score)
    if alert.risk_band is not None:
        notes["risk_band"] = alert.risk_band
    link = _link(alert, customer_url)
    if link:
        notes["customer_url"] = link
    return notes


def customer_link_template(alerts: AlertsSettings, console: ConsoleSettings) -> str:
    """The link template of customer alerts: ``[alerts] customer_url`` if set, else the console's
    customer view at ``[console] public_url`` if set, else ``""`` (no link)."""
    if alerts.customer_url:
        return alerts.customer_url
    if console.public_url:
        return console.public_url + "#/customer/{customer_id}"
    return ""


def _link(alert: Alert, customer_url: str) -> str:
    if not customer_url or alert.customer_id is None:
        return ""
    return customer_url.replace("{customer_id}", quote(alert.customer_id, safe=""))
