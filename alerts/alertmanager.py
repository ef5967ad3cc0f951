"""A small client of Prometheus Alertmanager's v2 HTTP API (the standard library's urllib).

``post_alerts`` raises :class:`DeliveryError` when Alertmanager did not accept the
alerts: ``retryable`` when trying again later may work (no connection, a timeout, 5xx,
429), not when Alertmanager rejected the payload itself (another 4xx).
"""

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from cxpulse.errors import CxpulseError

__all__ = ["AlertmanagerClient", "DeliveryError"]


class DeliveryError(CxpulseError):
    """Alertmanager did not accept a request."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class AlertmanagerClient:
    """``url`` is Alertmanager's base URL (``http://host:9093``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts``; returns when Alertmanager accepted them all."""
        body = json.dumps(alerts).encode("utf-8")
        self._request("POST", "/api/v2/alerts", body)

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (``active``, ``silenced``, ``inhibited``, ``filter=[...]``...)."""
        query = urlencode({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items()}, doseq=True)
        return json.loads(self._request("GET", "/api/v2/alerts" + (f"?{query}" if query else "")))

    def silences(self) -> list[dict[str, Any]]:
        """``GET /api/v2/silences``: every silence Alertmanager holds (active, pending, expired)."""
        return json.loads(self._request("GET", "/api/v2/silences"))

    def post_silence(self, silence: dict[str, Any]) -> str:
        """``POST /api/v2/silences``; returns the new silence's id."""
        answer = json.loads(self._request("POST", "/api/v2/silences", json.dumps(silence).encode("utf-8")))
        return str(answer["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        """``DELETE /api/v2/silence/{id}``: the silence ends now."""
        self._request("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}")

    def ready(self) -> bool:
        """Whether Alertmanager answers ``/-/ready``."""
        try:
            self._request("GET", "/-/ready")
            return True
        except DeliveryError:
            return False

    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": "application/json"} if body else {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            retryable = exc.code >= 500 or exc.code == 429
            raise DeliveryError(f"Alertmanager answered {exc.code} to {method} {path}: {detail}", retryable) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, DNS, timeout
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"Alertmanager at {self.url} not reachable: {reason}", True) from None
