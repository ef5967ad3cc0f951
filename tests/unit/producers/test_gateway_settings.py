"""[gateway] settings: tokens need exactly one secret form; a full batch must fit the bucket."""

import pytest
from pydantic import ValidationError

from cxpulse.producers.settings import GatewaySettings, GatewayToken
from cxpulse.settings import Settings


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "crm"},
        {"name": "crm", "token": "x" * 32, "sha256": "0" * 64},
        {"name": "crm", "token": "short"},
        {"name": "crm", "sha256": "not-hex"},
        {"name": "has space", "token": "x" * 32},
        {"name": "crm", "token": "x" * 32, "scopes": ["admin"]},
    ],
)
def test_bad_tokens_are_refused(fields):
    with pytest.raises(ValidationError):
        GatewayToken(**fields)


def test_burst_smaller_than_a_batch_is_refused():
    with pytest.raises(ValidationError, match="rate_limit_burst"):
        GatewaySettings(max_batch_events=100, rate_limit_burst=50)

    assert GatewaySettings(max_batch_events=100, rate_limit_burst=50, rate_limit_events_per_second=0)


def test_tokens_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("CXPULSE_GATEWAY__TOKENS", '[{"name": "crm", "sha256": "' + "ab" * 32 + '"}]')

    tokens = Settings().gateway.tokens

    assert [(t.name, t.sha256, t.scopes, t.revoked) for t in tokens] == [("crm", "ab" * 32, ["ingest"], False)]


def test_a_plaintext_token_is_not_shown_in_reprs():
    token = GatewayToken(name="crm", token="s3cret-" + "x" * 30)

    assert "s3cret" not in repr(token) and "s3cret" not in str(token.model_dump())
