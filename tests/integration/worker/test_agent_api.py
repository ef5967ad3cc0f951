"""The agent's side on the real broker: warnings at contact starts, and the brief API of a worker group."""

import json

import orjson
import pytest
from cxpulse.processors.engine import key_partition
from cxpulse.producers.settings import GatewayToken
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from .conftest import another_worker, with_reader
from .helpers import wait_consumed
from .scenario import Scenario

pytestmark = pytest.mark.kafka

INGEST_ONLY = "ingest-only-" + "i" * 24

def _start(s: Scenario, customer: str, t: float, service: str, contact_id: str, **fields) -> None:
    s._add("contact_started", customer, t, service, contact_id=contact_id, **fields)

def _sensitive_caller() -> Scenario:
    """A customer who complained twice, then calls about repair: the start, then the ended call."""
    s = Scenario()
    s.feedback("sens-1", 0, "billing", "csat", 1)
    s.feedback("sens-1", 3600, "billing", "nps", 2)
    _start(s, "sens-1", 86_400, "repair", "K-sens-1", agent_id="A-7", queue="repair")
    _start(s, "calm-1", 86_410, "billing", "K-calm-1")
    s.call("sens-1", 86_460, "repair", outcome="unresolved", contact_id="K-sens-1")
    return s

def test_a_contact_start_warns_the_agent_at_once_with_the_alert_and_its_evidence(
        settings_factory, produce, consume, worker_factory, wait_for):
    settings = settings_factory(partitions=2)
    s = _sensitive_caller()
    worker = worker_factory(settings)
    produce(settings.topics.events, s.records())
    wait_consumed(wait_for, settings, workers=[worker])

    warnings = {w["customer_id"]: w for w in (orjson.loads(r.value) for r in consume(settings.topics.warnings, count=2))}
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts)]
    warning, calm = warnings["sens-1"], warnings["calm-1"]
    start_id = s.events[2]["event_id"]
    (contact_alert,) = [a for a in alerts if a["rule"] == "sensitive_contact"]
    assert contact_alert["customer_id"] == "sens-1" and contact_alert["evidence"][-1] == start_id
    assert contact_alert["evidence"][:2] == [s.events[0]["event_id"], s.events[1]["event_id"]]
    assert warning["alerts"] == [contact_alert["alert_id"]]
    assert (warning["event_id"], warning["contact_id"], warning["agent_id"]) == (start_id, "K-sens-1", "A-7")
    assert [g["event_id"] for g in warning["sensitive"]["grievances"]] == contact_alert["evidence"][:2]
    assert warning["severity"] == "warning" and warning["summary"].startswith("sens-1 is contacting repair")
    assert warning["emitted_at"] and warning["repeat"]["count"] == 1
    assert (calm["severity"], calm["alerts"], calm["sensitive"]) == ("info", [], None)
    assert "no concerns" in calm["summary"]
    # the ended call carries the contact's points but warns no more
    assert [a["rule"] for a in alerts if a["customer_id"] == "sens-1"].count("sensitive_contact") == 1
    schema = json.loads(_schema_path("agent-warning").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [list(validator.iter_errors(w)) for w in warnings.values()] == [[], []]
    # the same worker, a customer calling now: the desktop has the warning while the call goes on
    _agent_desktop_gets_the_warning_before_the_call_would_have_ended(settings, worker, produce, consume, wait_for)

def _schema_path(name: str):
    from cxpulse.schemas.export import SCHEMA_DIR

    return SCHEMA_DIR / f"{name}.schema.json"

def test_the_brief_api_answers_from_either_worker_for_customers_of_both(settings_factory, produce, worker_factory,
                                                                       wait_for):
    settings = settings_factory(partitions=4, worker={"cors_origins": ["https://desk.example.com"]})
    crm = GatewayToken(name="crm", token=INGEST_ONLY)  # a gateway token without the read scope
    settings = with_reader(settings.model_copy(update={"gateway": settings.gateway.model_copy(update={"tokens": [crm]})}))
    s = Scenario()
    customers = [f"brief-{i:02d}" for i in range(16)]
    for i, customer in enumerate(customers):
        s.call(customer, i * 60, "billing", outcome="unresolved")
        s.call(customer, i * 60 + 30, "billing", outcome="unresolved")
    first = worker_factory(settings)
    second = worker_factory(another_worker(settings), ready_timeout=120)
    wait_for(lambda: all((w.health() or {}).get("assigned_partitions") and not w.health()["rebalancing"]
                         for w in (first, second)), timeout=90, message="both workers own partitions")
    produce(settings.topics.events, s.records())
    wait_consumed(wait_for, settings, workers=[first, second])
    owned = {w: set(w.health()["owned_partitions"]) for w in (first, second)}
    assert owned[first] and owned[second] and not owned[first] & owned[second]
    by_owner = {w: [c for c in customers if key_partition(c.encode(), 4) in owned[w]] for w in (first, second)}
    assert by_owner[first] and by_owner[second]

    status, document = first.get("/openapi.json", token=None)
    assert status == 200
    validate(document)
    brief_schema = _component(document, "AgentBrief")
    for worker in (first, second):
        for customer in (by_owner[first][0], by_owner[second][0]):  # its own and the other worker's
            status, brief = worker.get(f"/v1/customers/{customer}/brief")
            assert status == 200, (worker.url, customer, brief)
            assert brief["customer_id"] == customer and brief["repeat"][0]["count"] == 2
            assert list(brief_schema.iter_errors(brief)) == []
            status, view = worker.get(f"/customers/{customer}")
            assert status == 200 and view["customer_id"] == customer
        status, batch = worker.request("POST", "/v1/customers/briefs",
                                       {"customer_ids": [*customers, "nobody-here", customers[0]]})
        assert status == 200
        results = batch["results"]
        assert [r["customer_id"] for r in results] == [*customers, "nobody-here"]
        assert [r["status"] for r in results] == ["found"] * len(customers) + ["not_found"]
        assert all(r["brief"]["customer_id"] == r["customer_id"] for r in results[:-1])
        assert list(_component(document, "BriefBatch").iter_errors(batch)) == []

    other = by_owner[second][0]
    for worker in (first, second):
        assert worker.get(f"/v1/customers/{other}/brief", token=None)[0] == 401
        assert "Bearer" in worker.last_headers.get("WWW-Authenticate", "")
        assert worker.get(f"/v1/customers/{other}/brief", token="unknown-" + "u" * 24)[0] == 401
        assert worker.get(f"/v1/customers/{other}/brief", token=INGEST_ONLY)[0] == 403
        assert worker.get(f"/customers/{other}", token=None)[0] == 401
        assert worker.request("POST", "/v1/customers/briefs", {"customer_ids": [other]}, token=None)[0] == 401
        assert worker.request("POST", "/v1/customers/briefs", {"customer_ids": "x"})[0] == 400
        assert worker.get("/healthz", token=None)[0] == 200
    # CORS: an allowed origin reads the answer (also through the other worker), a preflight is answered.
    status, _ = first.request("GET", f"/v1/customers/{other}/brief", headers={"Origin": "https://desk.example.com"})
    assert status == 200 and first.last_headers["Access-Control-Allow-Origin"] == "https://desk.example.com"
    status, _ = first.request("GET", f"/v1/customers/{other}/brief", headers={"Origin": "https://evil.example.com"})
    assert status == 200 and "Access-Control-Allow-Origin" not in first.last_headers
    status, _ = second.request("OPTIONS", "/v1/customers/briefs", token=None,
                               headers={"Origin": "https://desk.example.com", "Access-Control-Request-Method": "POST"})
    assert status == 204 and "Authorization" in second.last_headers["Access-Control-Allow-Headers"]

def _component(document: dict, name: str) -> Draft202012Validator:
    """A validator of one component schema, resolving its references within the document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _agent_desktop_gets_the_warning_before_the_call_would_have_ended(settings, worker, produce, consume,
                                                                    wait_for) -> None:
    """A simulated agent desktop (``cxpulse agent-desk``'s reader) subscribed to the warnings topic,
    and a sensitive customer's call starting now, in wall-clock time."""
    import queue
    import threading
    import time
    from datetime import datetime, timedelta, timezone

    from cxpulse.agent_desk import follow_warnings

    now = datetime.now(timezone.utc)
    talk_seconds = 200.0

    def event(kind: str, eid: str, moment: datetime, **fields) -> tuple[bytes, bytes]:
        body = {"event_id": eid, "event_type": kind, "customer_id": "desk-1", "occurred_at": moment.isoformat(),
                "channel": "phone", "service_type": "billing", "segment": "vulnerable", **fields}
        return b"desk-1", orjson.dumps(body)

    history = [event("feedback", "d-1", now - timedelta(hours=3), survey="csat", score=1, is_complaint=True),
               event("feedback", "d-2", now - timedelta(hours=2), survey="ces", score=2)]
    produce(settings.topics.events, history)
    wait_consumed(wait_for, settings, workers=[worker])

    arrived: queue.Queue = queue.Queue()
    ready, done = threading.Event(), threading.Event()

    def desk() -> None:
        for warning in follow_warnings(settings, stop=done.is_set, poll_seconds=0.05, on_ready=ready.set):
            arrived.put((time.monotonic(), warning))

    thread = threading.Thread(target=desk, daemon=True)
    thread.start()
    try:
        assert ready.wait(30)
        began = time.monotonic()
        produce(settings.topics.events, [event("contact_started", "d-start", now, contact_id="K-desk-1",
                                               agent_id="A-1")])
        received, warning = arrived.get(timeout=60)
        latency = received - began
        print(f"contact start -> warning on the agent desktop: {latency * 1000:.0f} ms (shared machine)")
        assert latency < talk_seconds  # the agent has it while the customer is still on the line
        assert (warning["customer_id"], warning["agent_id"], warning["severity"]) == ("desk-1", "A-1", "critical")
        assert warning["priority_lane"] is True and warning["sensitive"] is not None
        produce(settings.topics.events, [event("call", "d-end", now, contact_id="K-desk-1", direction="inbound",
                                               wait_seconds=20.0, talk_seconds=talk_seconds, outcome="resolved")])
        wait_consumed(wait_for, settings, workers=[worker])
    finally:
        done.set()
        thread.join(10)
    contact_alerts = [a for a in (orjson.loads(r.value) for r in consume(settings.topics.alerts))
                      if a["rule"] == "sensitive_contact" and a["customer_id"] == "desk-1"]
    assert [a["evidence"][-1] for a in contact_alerts] == ["d-start"]  # warned at the start, not at the end
