"""Incomplete SASL settings are a one-line configuration error, not a client library's stack trace."""

import pytest

from cxpulse.clients import aiokafka_config, faust_broker_config, kafka_python_config
from cxpulse.errors import ConfigError
from cxpulse.settings import KafkaSettings


@pytest.mark.parametrize("build", [kafka_python_config, aiokafka_config, faust_broker_config])
@pytest.mark.parametrize(
    "fields",
    [{"sasl_username": "cxpulse"}, {"sasl_password": "s3cret"}, {}],
    ids=["no-password", "no-username", "neither"],
)
def test_sasl_without_credentials_is_a_config_error(build, fields):
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", **fields)

    with pytest.raises(ConfigError, match="sasl_username and kafka.sasl_password") as raised:
        build(kafka)
    assert "s3cret" not in str(raised.value)
