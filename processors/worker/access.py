"""Who may read customer data from the worker's read API, and which browser pages may ask.

``/customers/{id}``, ``GET /v1/customers/{id}/brief`` and ``POST /v1/customers/briefs``
answer only a bearer token of ``[gateway] tokens`` with the ``read`` scope (the gateway's
own token check, :class:`~cxpulse.producers.gateway_auth.TokenRegistry`), unless
``[worker] read_without_token_from_loopback`` lets loopback clients in without one.
``/healthz``, ``/metrics`` and ``/openapi.json`` carry no customer data and stay open.

CORS: a request whose ``Origin`` is in ``[worker] cors_origins`` (or ``"*"`` is) gets
``Access-Control-Allow-Origin`` on every answer, errors included, and a preflight
(``OPTIONS``) answer; other origins get neither, so a browser refuses the call.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cxpulse.producers.gateway_auth import AuthOutcome, TokenRegistry
from cxpulse.producers.settings import GatewayToken

__all__ = ["READ_SCOPE", "Denied", "ReadAccess"]

READ_SCOPE = "read"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache a preflight answer
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="cxpulse"'}
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="cxpulse", error="invalid_token"'}


@dataclass(frozen=True)
class Denied:
    """Why a request may not read: the HTTP status, an error code, a detail and headers."""

    status: int
    error: str
    detail: str
    headers: dict[str, str]


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class ReadAccess:
    """The read API's checks: tokens (``read`` scope), the loopback exemption, CORS origins."""

    def __init__(self, tokens: Sequence[GatewayToken], *, loopback_open: bool = False,
                 cors_origins: Sequence[str] = ()) -> None:
        self.tokens = TokenRegistry(tokens, scope=READ_SCOPE)
        self.loopback_open = loopback_open
        self.origins = frozenset(cors_origins)

    def check(self, authorization: str | None, remote: str | None) -> Denied | None:
        """``None`` when the request may read customer data, else why not (401 or 403)."""
        if self.loopback_open and _loopback(remote):
            return None
        auth = self.tokens.authenticate(authorization)
        if auth.outcome is AuthOutcome.ALLOWED:
            return None
        if auth.outcome is AuthOutcome.MISSING:
            return Denied(401, "unauthorized", "a bearer token with the read scope is required", dict(_UNAUTHORIZED))
        if auth.outcome is AuthOutcome.UNKNOWN:
            return Denied(401, "unauthorized", "the bearer token is not valid", dict(_INVALID_TOKEN))
        return Denied(403, "forbidden", "this token may not read customer data", {})

    def allows_origin(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.origins or origin in self.origins)

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """Headers for an answer to a request from ``origin`` (none for an origin not allowed)."""
        if not self.allows_origin(origin):
            return {}
        return {"Access-Control-Allow-Origin": "*" if "*" in self.origins else str(origin), "Vary": "Origin",
                "Access-Control-Expose-Headers": "WWW-Authenticate"}

    def preflight_headers(self, origin: str | None, methods: str) -> dict[str, str] | None:
        """The answer to ``OPTIONS`` from ``origin`` for a resource that allows ``methods``; ``None``: refuse."""
        headers = self.cors_headers(origin)
        if not headers:
            return None
        return {**headers, "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE)}
