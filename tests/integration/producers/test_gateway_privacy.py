"""No customer id, comment text or token in the gateway's logs, metrics or HTTP answers."""

import pytest

CUSTOMER, OTHER_CUSTOMER = "C-9f4e1d77", "C-5b2a0c31"
COMMENT = "my neighbour's dog bit the engineer"
WRONG_TOKEN = "wrong-" + "w" * 34


def _events() -> list:
    good = {
        "event_id": "p-1", "event_type": "feedback", "customer_id": CUSTOMER, "occurred_at": "2024-05-01T10:00:00Z",
        "channel": "web", "service_type": "billing", "survey": "csat", "score": 1, "comment": COMMENT,
    }  # fmt: skip
    return [
        good,
        {**good, "event_id": "p-2", "score": 11},
        {**good, "event_id": "p-3", "customer_id": OTHER_CUSTOMER, "event_type": CUSTOMER},
        {**good, "event_id": "p-4", CUSTOMER: COMMENT},
        {**good, "event_id": "p-5", "customer_id": CUSTOMER + "@mail", "comment": COMMENT * 100},
        {**good, "event_id": "p-6", "occurred_at": "2999-01-01T00:00:00Z"},
    ]


@pytest.mark.parametrize("log_level", [None, "info"], ids=["default-level", "info"])
def test_nothing_personal_or_secret_leaves_the_gateway(settings_factory, gateway_factory, wait_healthy, log_level):
    gateway = gateway_factory(settings_factory(), log_level=log_level)
    wait_healthy(gateway)
    answers = [
        gateway.post(_events()),
        gateway.post(_events()[0]),
        gateway.post(b'{"customer_id": "' + CUSTOMER.encode() + b'", "comment": "' + COMMENT.encode() + b'"'),
        gateway.post(_events(), token=WRONG_TOKEN),
        gateway.post(_events(), token=""),
        gateway.get(f"/v1/customers/{CUSTOMER}"),
        gateway.get("/metrics"),
        gateway.get("/healthz"),
    ]
    assert [a.status for a in answers[:6]] == [202, 202, 400, 401, 401, 404]
    assert answers[0].json()["accepted"] == 1 and answers[0].json()["rejected"] == 5
    assert gateway.stop() == 0

    logs = gateway.logs()
    assert "ingest gateway stopped" in logs
    if log_level == "info":
        assert '"POST /v1/events" 202' in logs  # the access log is on, so the check below means something
    secrets = [CUSTOMER, OTHER_CUSTOMER, COMMENT, gateway.token, WRONG_TOKEN]
    for text in [logs, *(answer.body.decode(errors="replace") for answer in answers)]:
        for secret in secrets:
            assert secret not in text
