"""Times outside the contract's range (docs/rules.md, "Events") are dead letters, not poison pills.

The inputs an outside probe used to stop the worker for good: a dissatisfied survey at
``0001-01-01T00:00:00+01:00`` (year 0 once in UTC) crashed the worker on every restart and
``cxpulse replay`` on the same topic; a ticket due then did the same; a ticket due after
9999-12-31T23:59:59Z made ``GET /customers/{id}`` answer 500. Each must be dead-lettered
with a reason naming its field, and the valid events around them processed.
"""

import subprocess
import sys

import orjson
import pytest

from .conftest import wait_consumed

pytestmark = pytest.mark.timeout(300)

CUSTOMER = "C-900001"


def _event(event_id: str, event_type: str, **fields) -> bytes:
    base = {"event_id": event_id, "event_type": event_type, "customer_id": CUSTOMER, "channel": "app",
            "occurred_at": "2025-06-05T09:00:00Z", "service_type": "billing"}
    return orjson.dumps({**base, **fields})


POISON = {
    "occurred_at": _event("year-0-survey", "feedback", occurred_at="0001-01-01T00:00:00+01:00", survey="csat", score=1),
    "due_at": _event("year-0-due", "ticket", ticket_id="T-1", action="opened", due_at="0001-01-01T00:00:00+01:00"),
    "due_at ": _event("year-10000-due", "ticket", ticket_id="T-2", action="opened",
                      due_at="9999-12-31T23:00:00-05:00"),
}
EDGES = [  # the range's own ends are valid
    _event("due-at-the-end", "ticket", ticket_id="T-3", action="opened", due_at="9999-12-31T23:59:59Z"),
    _event("at-the-start", "call", occurred_at="1970-01-01T01:00:00+01:00", direction="inbound", wait_seconds=1,
           talk_seconds=2, outcome="resolved"),
]
AFTER = _event("after-the-poison", "feedback", occurred_at="2025-06-05T10:00:00Z", survey="csat", score=1)
FORGED = "[2025-06-05 09:00:00,000] [1] [INFO] [^Worker]: all good"
FORGERY = orjson.dumps({**orjson.loads(AFTER), "event_id": "forged", f"x\n{FORGED}\x1b[2J": 1})


def test_extreme_times_are_dead_lettered_and_the_worker_and_replay_go_on(
        settings_factory, produce, consume, worker_factory, wait_for, config_file_factory, tmp_path):
    settings = settings_factory(partitions=1, engine={"partition_idle_seconds": 2.0})
    produce(settings.topics.events, [(CUSTOMER, value) for value in [*POISON.values(), FORGERY, *EDGES, AFTER]])
    worker = worker_factory(settings)

    wait_for(lambda: (worker.health() or {}).get("events") == len(POISON) + len(EDGES) + 2, timeout=120,
             message="the worker read every record")
    wait_consumed(wait_for, settings, workers=[worker])
    letters = [orjson.loads(r.value) for r in consume(settings.topics.dlq, count=len(POISON) + 1, timeout=30)]
    by_id = {orjson.loads(letter["raw"])["event_id"]: letter["error"] for letter in letters}
    assert sorted(by_id) == sorted(["forged", "year-0-survey", "year-0-due", "year-10000-due"])
    assert by_id["year-0-survey"].startswith("occurred_at: must be between 1970-01-01T00:00:00Z and 9999")
    assert by_id["year-0-due"].startswith("due_at: ") and by_id["year-10000-due"].startswith("due_at: ")
    assert by_id["forged"] == f"x\\x0a{FORGED}\\x1b[2J: unknown field (not in the event contract)"
    health = worker.health()  # raises if the worker died
    assert health["status"] == "ok" and health["invalid"] == len(POISON) + 1
    log = worker.log_path.read_text(errors="replace")
    assert "dead-lettered" in log and "\x1b" not in log  # the reasons were logged, escaped
    assert not [line for line in log.splitlines() if line.startswith(FORGED)]
    assert CUSTOMER not in log and "0001-01-01" not in log and "9999-12-31T23:00" not in log  # no values
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts, timeout=10)]
    assert any(alert["rule"] == "detractor" and alert["evidence"] == ["after-the-poison"] for alert in alerts)
    status, body = worker.get(f"/customers/{CUSTOMER}")
    assert status == 200
    assert [(t["ticket_id"], t["due_at"]) for t in body["open_tickets"]] == [("T-3", "9999-12-31T23:59:59+00:00")]

    config = config_file_factory(settings)
    replay = subprocess.run([sys.executable, "-c", "from cxpulse.cli import main; main()", "--config", str(config),
                             "replay", "--out", str(tmp_path / "replay")],
                            capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    summary = orjson.loads((tmp_path / "replay" / "summary.json").read_bytes())
    assert summary["events"]["invalid"] == len(POISON) + 1
