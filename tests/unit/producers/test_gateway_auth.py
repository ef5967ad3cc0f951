"""Bearer tokens: hashed or plain, rotated, revoked, scoped; malformed headers are 'missing'."""

import hashlib

import pytest

from cxpulse.producers.gateway_auth import AuthOutcome, TokenRegistry, token_digest
from cxpulse.producers.settings import GatewayToken

CURRENT, NEXT, OLD, PARKED = "a" * 32, "b" * 32, "c" * 32, "d" * 32
REGISTRY = TokenRegistry([
    GatewayToken(name="crm", sha256=hashlib.sha256(CURRENT.encode()).hexdigest()),
    GatewayToken(name="crm-next", token=NEXT),
    GatewayToken(name="crm-2023", token=OLD, revoked=True),
    GatewayToken(name="parked", token=PARKED, scopes=[]),
])  # fmt: skip


@pytest.mark.parametrize(
    ("header", "outcome", "name"),
    [
        (f"Bearer {CURRENT}", AuthOutcome.ALLOWED, "crm"),
        (f"bearer   {CURRENT}", AuthOutcome.ALLOWED, "crm"),
        (f"Bearer {NEXT}", AuthOutcome.ALLOWED, "crm-next"),
        (f"Bearer {OLD}", AuthOutcome.FORBIDDEN, "crm-2023"),
        (f"Bearer {PARKED}", AuthOutcome.FORBIDDEN, "parked"),
        ("Bearer " + "z" * 32, AuthOutcome.UNKNOWN, None),
        (None, AuthOutcome.MISSING, None),
        ("", AuthOutcome.MISSING, None),
        ("Bearer", AuthOutcome.MISSING, None),
        (f"Basic {CURRENT}", AuthOutcome.MISSING, None),
        (f"Bearer {CURRENT} extra", AuthOutcome.MISSING, None),
        ("Bearer ümlaut", AuthOutcome.MISSING, None),
        ("Bearer " + "a" * 5000, AuthOutcome.MISSING, None),
        (CURRENT, AuthOutcome.MISSING, None),
    ],
)
def test_outcomes(header, outcome, name):
    result = REGISTRY.authenticate(header)

    assert (result.outcome, result.name) == (outcome, name)


def test_digest_is_hex_sha256():
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_no_tokens_lets_nobody_in():
    assert TokenRegistry([]).authenticate(f"Bearer {CURRENT}").outcome is AuthOutcome.UNKNOWN


def test_the_outcome_never_carries_the_token():
    result = REGISTRY.authenticate(f"Bearer {CURRENT}")

    assert CURRENT not in repr(result)
