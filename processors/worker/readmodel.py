"""The read API's view of one customer: score, band, sensitivity, open tickets, recent alerts."""

from datetime import datetime, timezone
from typing import Any

from cxpulse.processors.engine import CustomerState, Engine
from cxpulse.schemas.types import LATEST

__all__ = ["customer_view"]

_LATEST = LATEST.timestamp()


def _time(moment: float | None) -> str | None:
    if moment is None or moment <= 0:
        return None
    # A time derived from an event's (sensitive for 90 days from an event in 9999) may pass
    # the last representable moment: shown as that moment, never an error (issue 14.3).
    return datetime.fromtimestamp(min(moment, _LATEST), timezone.utc).isoformat()


def customer_view(engine: Engine, state: CustomerState) -> dict[str, Any]:
    """JSON-ready body of ``GET /customers/{id}``."""
    snapshot = engine.snapshot(state)
    return {
        "customer_id": state.customer_id,
        "score": round(snapshot.score, 2),
        "risk_band": snapshot.risk_band,
        "sensitive": snapshot.sensitive,
        "sensitive_until": _time(state.sensitive_until) if snapshot.sensitive else None,
        "segment": state.segment,
        "events_seen": state.events_seen,
        "updated_at": snapshot.updated_at.isoformat(),
        "open_tickets": [
            {
                "ticket_id": ticket_id,
                "service_type": ticket.service_type,
                "due_at": _time(ticket.due_at),
                "breached": ticket.breached_due is not None,
            }
            for ticket_id, ticket in sorted(state.tickets.items())
        ],
        "recent_alerts": [
            {
                "alert_id": alert_id,
                "rule": rule,
                "severity": severity,
                "status": status,
                "service_type": service_type,
                "triggered_at": _time(triggered_at),
            }
            for alert_id, rule, severity, status, service_type, triggered_at in reversed(state.recent)
        ],
    }
