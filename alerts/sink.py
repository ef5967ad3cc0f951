"""A webhook receiver for Alertmanager: what people would be sent, shown and kept.

``deploy/alertmanager/alertmanager.yml`` routes to webhook receivers; until real ones
(e-mail, Slack, a pager) are configured, ``cxpulse alerts sink`` receives their
notifications and prints one line per notification: receiver, status, group, and the
alerts in it. The tests use the same server to check routing, grouping and inhibition.
"""

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Notification", "WebhookSink", "notification_line"]

MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Notification:
    """One webhook call: the path it came to and Alertmanager's JSON body."""

    path: str
    body: dict[str, Any]

    @property
    def receiver(self) -> str:
        return str(self.body.get("receiver", ""))

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.body.get("alerts") or [])


def notification_line(note: Notification) -> str:
    """``receiver  status  group labels  N alert(s): rule service_type customer ...``."""
    group = ",".join(f"{k}={v}" for k, v in sorted((note.body.get("groupLabels") or {}).items()))
    alerts = "; ".join(
        " ".join(filter(None, [a.get("labels", {}).get("alertname"), a.get("labels", {}).get("severity"),
                               a.get("labels", {}).get("customer_id"), a.get("status")]))
        for a in note.alerts[:5]
    )
    more = f" (+{len(note.alerts) - 5} more)" if len(note.alerts) > 5 else ""
    return f"{note.receiver:10} {note.body.get('status', '?'):8} {{{group}}} {len(note.alerts)} alert(s): {alerts}{more}"


class WebhookSink:
    """An HTTP server on ``host:port`` (0: a free port) keeping the last ``keep`` notifications."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_notification: Callable[[Notification], None] | None = None, keep: int = 10_000) -> None:
        self.notifications: deque[Notification] = deque(maxlen=keep)
        self._changed = threading.Condition()
        self._on_notification = on_notification
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> "WebhookSink":
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, receiver: str | None = None) -> list[Notification]:
        """A copy of the notifications so far (of one receiver)."""
        with self._changed:
            return [n for n in self.notifications if receiver is None or n.receiver == receiver]

    def _keep(self, note: Notification) -> None:
        with self._changed:
            self.notifications.append(note)
            self._changed.notify_all()
        if self._on_notification is not None:
            self._on_notification(note)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, b"body too large")
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._answer(400, b"not JSON")
                    return
                sink._keep(Notification(self.path, body if isinstance(body, dict) else {"body": body}))
                self._answer(200, b"ok")

            def do_GET(self) -> None:  # noqa: N802
                self._answer(200, json.dumps([n.body for n in sink.received()]).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: bodies carry customer ids
                return

        return Handler
