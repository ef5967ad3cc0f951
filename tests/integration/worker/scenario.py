"""A scripted stream for the worker's integration tests: hand-made episodes plus background traffic.

Every event is a JSON-ready dict keyed by its customer id. Times are seconds after ``T0``.
"""

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

__all__ = ["BAD_RECORDS", "T0", "Scenario", "scripted"]

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
SERVICES = ["billing", "repair", "account", "installation"]


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


class Scenario:
    """Collects events in the order they will be produced."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def _add(self, kind: str, customer: str, t: float, service: str, **fields: Any) -> None:
        event = {"event_id": f"ev-{len(self.events):06d}", "event_type": kind, "customer_id": customer,
                 "occurred_at": _at(t), "channel": "phone", "service_type": service, **fields}
        self.events.append(event)

    def call(self, customer: str, t: float, service: str, outcome: str = "resolved", **fields: Any) -> None:
        self._add("call", customer, t, service, direction="inbound", wait_seconds=30.0, talk_seconds=200.0,
                  outcome=outcome, **fields)

    def ticket(self, customer: str, t: float, service: str, ticket_id: str, action: str, **fields: Any) -> None:
        self._add("ticket", customer, t, service, ticket_id=ticket_id, action=action, **fields)

    def feedback(self, customer: str, t: float, service: str, survey: str, score: int) -> None:
        self._add("feedback", customer, t, service, survey=survey, score=score)

    def records(self) -> list[tuple[bytes, bytes]]:
        return [(e["customer_id"].encode(), orjson.dumps(e)) for e in self.events]


def scripted(background_customers: int = 120, background_events: int = 1500, seed: int = 3) -> Scenario:
    """Known episodes (one per rule) in the middle of random, mostly calm traffic over 4 days."""
    s = Scenario()
    rng = random.Random(seed)
    background = sorted(rng.uniform(0, 4 * 86400) for _ in range(background_events))
    episodes = _episodes()
    for t in background:
        while episodes and episodes[0][0] <= t:
            episodes.pop(0)[1](s)
        customer = f"bg-{rng.randrange(background_customers):04d}"
        service = rng.choice(SERVICES)
        roll = rng.random()
        if roll < 0.6:
            s.call(customer, t, service, outcome=rng.choice(["resolved", "resolved", "unresolved"]))
        elif roll < 0.9:
            s.feedback(customer, t, service, "csat", rng.choice([3, 4, 5, 5]))
        else:
            s.ticket(customer, t, service, f"bt-{len(s.events)}", "opened", due_at=_at(t + 7 * 86400))
    for _, episode in episodes:
        episode(s)
    return s


def _episodes() -> list:
    """``(time, add)`` pairs, in time order; each adds one story to the scenario."""
    def repeat(s: Scenario) -> None:  # 3 inbound billing calls in 2 hours -> repeat_contact
        for i in range(3):
            s.call("ep-repeat", 3600 + i * 3600, "billing", outcome="unresolved")

    def detractor(s: Scenario) -> None:  # CSAT 1 -> detractor
        s.feedback("ep-detractor", 7200, "repair", "csat", 1)

    def sla(s: Scenario) -> None:  # opened, due 1 h later, never resolved; the stream clock passes it
        s.ticket("ep-sla", 10_000, "account", "T-sla-1", "opened", due_at=_at(13_600))

    def outage(s: Scenario) -> None:  # 30 customers call about the outage within 10 minutes -> incident
        for i in range(30):
            s.call(f"ep-out-{i:02d}", 86_400 + i * 20, "outage", outcome="unresolved")

    return [(3600, repeat), (7200, detractor), (10_000, sla), (86_400, outage)]


# (key, value, the words the dead letter's error must contain)
BAD_RECORDS: list[tuple[bytes | None, bytes, str]] = [
    (b"bad-1", b"{not json", "JSON"),
    (b"bad-2", orjson.dumps({"event_id": "x1", "event_type": "call", "customer_id": "bad-2"}), "occurred_at"),
    (b"bad-3", orjson.dumps({"event_id": "x2", "event_type": "fax", "customer_id": "bad-3",
                             "occurred_at": _at(0), "channel": "phone", "service_type": "billing"}), "event_type"),
    (b"someone-else", orjson.dumps({"event_id": "x3", "event_type": "feedback", "customer_id": "bad-4",
                                    "occurred_at": _at(50), "channel": "web", "service_type": "billing",
                                    "survey": "csat", "score": 4}), "key"),
    (b"bad-5", orjson.dumps({"event_id": "x4", "event_type": "feedback", "customer_id": "bad-5",
                             "occurred_at": (datetime.now(timezone.utc) + timedelta(days=3)).isoformat(),
                             "channel": "web", "service_type": "billing", "survey": "csat", "score": 4}),
     "occurred_at"),
    (b"bad-6", b"\xff\xfe\x00binary", "UTF-8"),
]
