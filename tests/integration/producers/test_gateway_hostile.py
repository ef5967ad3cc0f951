"""Hostile HTTP against the running gateway, on raw sockets: what it answers and what it logs.

An outside probe found: a request that aiohttp's parser refuses (a token followed by a stray
CR, a NUL or a bare LF; a body longer than its Content-Length) had the offending bytes —
a valid token, a customer id, a comment — logged at ERROR and echoed in the 400 body;
deeply nested items failed the whole batch with a 500; slow clients held connections for
minutes with no cap; a client that went away was logged as a 500; requests without a valid
token were never rate-limited; the ``Server`` header named library versions.
"""

import re
import socket
import time

import orjson
import pytest

from cxpulse.settings import Settings

pytestmark = pytest.mark.timeout(240)

CUSTOMER, COMMENT = "C-424242", "call me on my private line"


def _event(event_id: str, **fields) -> dict:
    return {"event_id": event_id, "event_type": "feedback", "customer_id": CUSTOMER, "channel": "app",
            "occurred_at": "2025-06-05T09:00:00Z", "service_type": "billing", "survey": "csat", "score": 4,
            "comment": COMMENT, **fields}


def _malformed(token: str) -> dict[str, bytes]:
    body = orjson.dumps(_event("e-1"))
    head = b"POST /v1/events HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    auth = f"Authorization: Bearer {token}".encode()
    length = f"Content-Length: {len(body)}\r\n".encode()
    return {
        "stray-cr": head + auth + b"\r\r\n" + length + b"\r\n" + body,
        "nul": head + auth + b"\x00\r\n" + length + b"\r\n" + body,
        "bare-lf": head + auth + b"\n" + length + b"\r\n" + body,
        "cr-inside": head + auth[:20] + b"\r" + auth[20:] + b"\r\n" + length + b"\r\n" + body,
        "short-content-length": head + auth + b"\r\nContent-Length: 5\r\n\r\n" + body,
        "token-in-request-line": f"POST /v1/events?{token} HTTP/1.1\x00\r\n".encode() + auth + b"\r\n\r\n",
        "token-as-method": token.encode() + b" / HTTP/1.1\r\n\r\n",
        "header-without-colon": head + auth + b"\r\n" + token.encode() + b"\r\n" + length + b"\r\n" + body,
    }


@pytest.mark.parametrize("level", [None, "info"])
def test_nothing_of_a_malformed_request_reaches_the_log_or_the_answer(settings_factory, gateway_factory, wait_healthy,
                                                                      level):
    gateway = gateway_factory(settings_factory(), log_level=level)
    wait_healthy(gateway)
    secrets = (gateway.token, CUSTOMER, COMMENT)

    for name, request in _malformed(gateway.token).items():
        answer = raw_exchange(gateway.port, request)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer), (name, answer[:80])
        assert not any(secret.encode() in answer for secret in secrets), name
        assert b'"error":"bad_request"' in answer, name
        assert gateway.process.poll() is None

    logs = gateway.logs()
    assert not [secret for secret in secrets if secret in logs]
    assert "Traceback" not in logs and "ERROR" not in logs
    assert gateway.post(_event("e-after")).status == 202  # still serving


def test_the_server_header_names_no_versions(settings_factory, gateway_factory):
    gateway = gateway_factory(settings_factory())

    answers = [gateway.get("/openapi.json").headers, gateway.get("/nowhere").headers]
    malformed = raw_exchange(gateway.port, b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n")

    for headers in answers:
        assert headers.get("server") == "cxpulse"
    assert re.search(rb"(?im)^server: cxpulse\r$", malformed)
    assert not re.search(rb"(?i)aiohttp|python/", malformed)


def test_deep_nesting_rejects_the_item_and_keeps_the_rest(settings_factory, gateway_factory, wait_healthy, consume):
    settings = settings_factory()
    gateway = gateway_factory(settings)
    wait_healthy(gateway)
    items = [orjson.dumps(_event("e-ok-1"))]
    for depth in (255, 300, 1021):  # orjson reads 1024 levels (the batch and the event are 2) but writes 254
        nested = b"[" * depth + b'"x"' + b"]" * depth
        items.append(orjson.dumps(_event(f"e-deep-{depth}", related_ticket_id="HERE")).replace(b'"HERE"', nested))
        items.append(nested)
    items.append(orjson.dumps(_event("e-ok-2")))

    answer = gateway.post(b"[" + b",".join(items) + b"]")

    assert answer.status == 202, answer.body[:200]
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 6 + ["accepted"]
    assert results[1]["errors"][0]["field"] == "related_ticket_id"
    assert results[2]["errors"][0]["field"] == "event"
    written = {orjson.loads(r.value)["event_id"] for r in consume(settings.topics.events, count=2)}
    assert written == {"e-ok-1", "e-ok-2"}


def _slow_settings(settings_factory, **gateway) -> Settings:
    return settings_factory(gateway={"header_timeout_seconds": 1.0, "body_timeout_seconds": 1.0, **gateway})


def test_slow_heads_and_bodies_are_cut_off(settings_factory, gateway_factory):
    gateway = gateway_factory(_slow_settings(settings_factory))
    head = (f"POST /v1/events HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {gateway.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()

    slow_head = trickle(gateway.port, head[:30], b"X-Slow: 1\r\n")
    slow_body = trickle(gateway.port, head, b" ")

    assert slow_head.closed_after < 30, "a head sent one line a second is cut off"
    assert slow_body.closed_after < 30, "a body sent one byte a second is cut off"
    assert re.match(rb"HTTP/1\.[01] 408 ", slow_body.answer)
    assert b'"error":"timeout"' in slow_body.answer
    assert "ERROR" not in gateway.logs()


def test_connections_beyond_the_cap_are_refused_at_once(settings_factory, gateway_factory, wait_for):
    gateway = gateway_factory(settings_factory(gateway={"max_connections": 3, "header_timeout_seconds": 120.0}))
    idle = [socket.create_connection(("127.0.0.1", gateway.port)) for _ in range(3)]
    try:
        time.sleep(0.2)  # not needed to pass: only gives the server a moment to register them
        refused = wait_for(lambda: _busy(gateway.port), timeout=30, message="a fourth connection is refused")
        assert re.match(rb"HTTP/1\.[01] 503 ", refused)
    finally:
        for sock in idle:
            sock.close()
    wait_for(lambda: gateway.get("/openapi.json").status == 200, timeout=30, message="served again once they closed")


def test_a_client_that_goes_away_is_not_an_error(settings_factory, gateway_factory):
    gateway = gateway_factory(settings_factory())
    head = (f"POST /v1/events HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {gateway.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n").encode()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
            sock.sendall(head + b'[{"event_id": ')
            time.sleep(0.2)  # not needed to pass: the disconnect is what matters, whenever it lands

    metrics = gateway.get("/metrics").body.decode()
    assert 'status="500"' not in metrics
    logs = gateway.logs()
    assert "ERROR" not in logs and " 500 " not in logs


def test_requests_without_a_valid_token_are_rate_limited_per_address(settings_factory, gateway_factory):
    limited = {"unauthenticated_per_second": 0.01, "unauthenticated_burst": 3}
    gateway = gateway_factory(settings_factory(gateway=limited))

    statuses = [gateway.post(_event(f"e-{n}"), token="not-a-token-of-this-gateway").status for n in range(8)]
    probes = [gateway.get("/openapi.json") for _ in range(2)]

    # The burst of 3 is shared with the fixture's readiness probes (GET /openapi.json): 401s, then 429s.
    refused = statuses.index(429)
    assert set(statuses[:refused]) <= {401} and set(statuses[refused:]) == {429} and refused <= 3
    assert [p.status for p in probes] == [429, 429] and int(probes[0].headers["retry-after"]) >= 1
    assert gateway.post(_event("e-valid")).status in (202, 503)  # a valid token is never held back by it


# --- raw socket helpers ----------------------------------------------------------


def raw_exchange(port: int, request: bytes, timeout: float = 15.0) -> bytes:
    """Send ``request`` as is; everything the gateway answers until it closes (or ``timeout``)."""
    answer = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            answer += chunk
    return answer


class Trickled:
    def __init__(self, answer: bytes, closed_after: float) -> None:
        self.answer, self.closed_after = answer, closed_after


def trickle(port: int, first: bytes, then: bytes, limit: float = 60.0) -> Trickled:
    """Send ``first``, then ``then`` once a second until the gateway closes the connection."""
    began = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(1.0)
        sock.sendall(first)
        while time.monotonic() - began < limit:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(then)
                except OSError:
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    return Trickled(answer, time.monotonic() - began)


def _busy(port: int) -> bytes | None:
    answer = raw_exchange(port, b"GET /openapi.json HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    return answer if re.match(rb"HTTP/1\.[01] 503 ", answer) else None
