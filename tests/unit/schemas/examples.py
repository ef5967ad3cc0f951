"""Valid example events of every type, as JSON-ready dicts (shared by the schema tests)."""

from typing import Any

CALL: dict[str, Any] = {
    "event_id": "evt-call-1",
    "event_type": "call",
    "customer_id": "C-000042",
    "occurred_at": "2024-05-01T10:00:00+02:00",
    "channel": "phone",
    "service_type": "billing",
    "direction": "inbound",
    "wait_seconds": 42,
    "talk_seconds": 180.5,
    "outcome": "resolved",
}
TICKET: dict[str, Any] = {
    "event_id": "evt-ticket-1",
    "event_type": "ticket",
    "customer_id": "C-000042",
    "occurred_at": "2024-05-01T10:05:00Z",
    "channel": "web",
    "service_type": "repair",
    "ticket_id": "T-77",
    "action": "opened",
}
FEEDBACK: dict[str, Any] = {
    "event_id": "evt-fb-1",
    "event_type": "feedback",
    "customer_id": "C-000042",
    "occurred_at": "2024-05-02T08:00:00.250-05:00",
    "channel": "email",
    "service_type": "billing",
    "survey": "csat",
    "score": 2,
}
ACCOUNT: dict[str, Any] = {
    "event_id": "evt-account-1",
    "event_type": "account",
    "customer_id": "C-000042",
    "occurred_at": "2024-05-02T12:00:00Z",
    "action": "cancelled",
}

# (id, the event) — minimal and full forms of each type, and boundary values.
VALID: list[tuple[str, dict[str, Any]]] = [
    ("call-minimal", CALL),
    (
        "call-full",
        {**CALL, "segment": "vip", "schema_version": 1, "is_complaint": True, "sentiment": -0.75,
         "agent_id": "agent-7", "outcome": "escalated", "direction": "outbound"},
    ),
    ("call-zero-durations", {**CALL, "wait_seconds": 0, "talk_seconds": 0.0, "outcome": "abandoned"}),
    ("call-sentiment-bounds", {**CALL, "sentiment": 1.0}),
    ("call-lower-case-t-z", {**CALL, "occurred_at": "2024-05-01t10:00:00z"}),
    ("call-nanoseconds", {**CALL, "occurred_at": "2024-05-01T10:00:00.123456789+05:30"}),
    ("ticket-minimal", TICKET),
    (
        "ticket-full",
        {**TICKET, "action": "escalated", "priority": "urgent", "is_complaint": True,
         "due_at": "2024-05-03T10:05:00Z", "segment": "vulnerable"},
    ),
    ("feedback-csat-low", FEEDBACK),
    ("feedback-csat-high", {**FEEDBACK, "score": 5}),
    ("feedback-nps-zero", {**FEEDBACK, "survey": "nps", "score": 0}),
    ("feedback-nps-ten", {**FEEDBACK, "survey": "nps", "score": 10}),
    ("feedback-ces-bounds", {**FEEDBACK, "survey": "ces", "score": 7}),
    ("feedback-comment", {k: v for k, v in {**FEEDBACK, "survey": "comment", "comment": "x" * 2000}.items() if k != "score"}),
    ("feedback-related", {**FEEDBACK, "related_ticket_id": "T-77", "is_complaint": True, "comment": "还是没修好 🙁"}),
    ("account-minimal", ACCOUNT),
    ("account-full", {**ACCOUNT, "action": "not_renewed", "reason": "price", "channel": "web",
                      "service_type": "Account", "segment": "key", "schema_version": 2}),
    ("account-downgraded", {**ACCOUNT, "action": "downgraded", "reason": "r" * 64}),
    ("account-reactivated", {**ACCOUNT, "action": "reactivated"}),
    ("customer-id-charset", {**CALL, "customer_id": "a.B_9:z-" + "x" * 56}),
    ("long-ids", {**CALL, "event_id": "e" * 128, "service_type": "s" * 40}),
]  # fmt: skip
