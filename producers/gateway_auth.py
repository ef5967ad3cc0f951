"""Bearer-token authentication of the ingest gateway.

Tokens come from ``[gateway] tokens`` (config file or ``CXPULSE_GATEWAY__TOKENS``), each
as the SHA-256 of the token (so the plaintext need not sit in a file) or the token
itself. A presented token is hashed and compared with every configured digest in
constant time (:func:`hmac.compare_digest`, no early exit), so neither the timing nor
the answer tells which part of a guess was right.

Outcomes: no or malformed ``Authorization`` header and unknown token -> 401; a known
token that is revoked or lacks the ``ingest`` scope -> 403. Nothing else is said.
"""

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from cxpulse.producers.settings import GatewayToken

__all__ = ["AuthOutcome", "Authentication", "TokenRegistry", "token_digest"]

# RFC 6750 section 2.1: "Bearer" 1*SP b68token.
_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_MAX_HEADER = 4096


class AuthOutcome(Enum):
    """What the gateway makes of a request's credentials."""

    ALLOWED = "allowed"
    MISSING = "missing"  # no header, another scheme, or a malformed token: 401
    UNKNOWN = "unknown"  # a well-formed token that is not configured: 401
    FORBIDDEN = "forbidden"  # a configured token that is revoked or lacks the scope: 403


@dataclass(frozen=True)
class Authentication:
    """The outcome and, for a known token, its configured name (never the token)."""

    outcome: AuthOutcome
    name: str | None = None


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token, as ``[gateway] tokens`` stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    name: str
    allowed: bool


class TokenRegistry:
    """The configured tokens; :meth:`authenticate` checks an ``Authorization`` header."""

    def __init__(self, tokens: Sequence[GatewayToken], scope: str = "ingest") -> None:
        self._entries = tuple(_entry(token, scope) for token in tokens)

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, header: str | None) -> Authentication:
        """Check ``Authorization: Bearer <token>``; see the module docstring for outcomes."""
        match = _BEARER.fullmatch(header.strip()) if header and len(header) <= _MAX_HEADER else None
        if match is None:
            return Authentication(AuthOutcome.MISSING)
        presented = hashlib.sha256(match.group(1).encode("ascii")).digest()
        found: _Entry | None = None
        for entry in self._entries:  # every entry, always: the time does not depend on which matched
            if hmac.compare_digest(presented, entry.digest) and found is None:
                found = entry
        if found is None:
            return Authentication(AuthOutcome.UNKNOWN)
        return Authentication(AuthOutcome.ALLOWED if found.allowed else AuthOutcome.FORBIDDEN, found.name)


def _entry(token: GatewayToken, scope: str) -> _Entry:
    if token.sha256 is not None:
        digest = bytes.fromhex(token.sha256)
    else:
        assert token.token is not None  # the settings model requires one of the two
        digest = hashlib.sha256(token.token.get_secret_value().encode("utf-8")).digest()
    return _Entry(digest, token.name, allowed=not token.revoked and scope in token.scopes)
