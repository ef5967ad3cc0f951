"""Acknowledging and silencing a card, as Alertmanager silences (``POST /api/v2/silences``).

The console holds no state of its own about who handled what: an acknowledgement is a
silence, so Alertmanager's UI, ``amtool`` and the console always agree, and a card that
someone silenced in Alertmanager's UI shows as silenced in the console.

- **acknowledge**: mutes the card's alerts *open now* — matchers ``customer_id="C"`` and
  ``alert_id=~"id1|id2"`` — for ``[console] acknowledge_seconds``; its comment starts with
  ``[ack]``. A new alert of the customer is not covered: the card comes back.
- **silence**: mutes every alert of the customer, new ones too (``customer_id="C"``), for the
  chosen time. For an incident card: ``alertname="incident"`` and its ``service_type``.

``createdBy`` is the name of the console's token (or ``cxpulse-console`` on loopback
without tokens); the comment says who is meant and why.
"""

import re
from datetime import datetime, timedelta
from typing import Any

from .cards import ACK_PREFIX
from .payload import rfc3339

__all__ = ["acknowledge_silence", "card_matchers", "silence_for"]

CREATED_BY = "cxpulse-console"


def _equal(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "isRegex": False, "isEqual": True}


def card_matchers(key: str) -> list[dict[str, Any]]:
    """Matchers for every alert of a card: its customer, or its service type's incidents."""
    if key.startswith("incident:"):
        return [_equal("alertname", "incident"), _equal("service_type", key.removeprefix("incident:"))]
    return [_equal("customer_id", key)]


def acknowledge_silence(key: str, alert_ids: list[str], now: datetime, seconds: float, who: str | None,
                        note: str = "") -> dict[str, Any]:
    """The silence that acknowledges the open alerts ``alert_ids`` of card ``key``."""
    if not alert_ids:
        raise ValueError("a card without open alerts cannot be acknowledged")
    ids = "|".join(_literal(a) for a in sorted(alert_ids))
    matchers = [*card_matchers(key), {"name": "alert_id", "value": ids, "isRegex": True, "isEqual": True}]
    comment = ACK_PREFIX + (note.strip() or f"acknowledged in the cxpulse console ({len(alert_ids)} alert(s))")
    return _silence(matchers, now, seconds, who, comment)


def silence_for(key: str, now: datetime, seconds: float, who: str | None, note: str = "") -> dict[str, Any]:
    """The silence that mutes every alert of card ``key``, new ones too, for ``seconds``."""
    comment = note.strip() or "silenced in the cxpulse console"
    if comment.startswith(ACK_PREFIX):
        comment = comment.removeprefix(ACK_PREFIX)  # a silence is not an acknowledgement
    return _silence(card_matchers(key), now, seconds, who, comment)


def _literal(text: str) -> str:
    """``text`` as a literal in Alertmanager's (Go RE2) regular expressions."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _silence(matchers: list[dict[str, Any]], now: datetime, seconds: float, who: str | None,
             comment: str) -> dict[str, Any]:
    return {"matchers": matchers, "startsAt": rfc3339(now), "endsAt": rfc3339(now + timedelta(seconds=seconds)),
            "createdBy": who or CREATED_BY, "comment": comment[:500]}
