"""KafkaSettings become the right keyword arguments for each client library (no network)."""

import ssl

import faust
import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from cxpulse.clients import aiokafka_config, bootstrap_list, faust_broker_config, kafka_python_config
from cxpulse.settings import KafkaSettings

SASL = KafkaSettings(
    bootstrap_servers="a:9092, b:9093",
    client_id="cx",
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_username="svc",
    sasl_password="s3cret",
)


def test_plaintext_is_address_and_client_id_only():
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9092", client_id="cx")

    assert kafka_python_config(kafka) == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "client_id": "cx",
        "security_protocol": "PLAINTEXT",
    }
    assert aiokafka_config(kafka) == kafka_python_config(kafka)
    assert faust_broker_config(kafka) == {"broker": "kafka://127.0.0.1:9092", "broker_client_id": "cx"}


def test_bootstrap_list_splits_and_trims():
    assert bootstrap_list(KafkaSettings(bootstrap_servers=" a:1 ,b:2,, ")) == ["a:1", "b:2"]


def test_sasl_settings_reach_kafka_python_with_the_secret_revealed():
    config = kafka_python_config(SASL)

    assert config["bootstrap_servers"] == ["a:9092", "b:9093"]
    assert config["security_protocol"] == "SASL_PLAINTEXT"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("svc", "s3cret")
    assert "ssl_cafile" not in config


def test_sasl_mechanism_defaults_to_plain():
    kafka = KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")

    assert kafka_python_config(kafka)["sasl_mechanism"] == "PLAIN"


def test_ssl_files_and_hostname_check_reach_kafka_python(tmp_path):
    kafka = KafkaSettings(
        security_protocol="SSL", ssl_cafile=tmp_path / "ca.pem", ssl_certfile=tmp_path / "c.pem",
        ssl_keyfile=tmp_path / "k.pem", ssl_check_hostname=False,
    )  # fmt: skip

    config = kafka_python_config(kafka)

    assert config["ssl_cafile"] == str(tmp_path / "ca.pem")
    assert config["ssl_certfile"] == str(tmp_path / "c.pem")
    assert config["ssl_keyfile"] == str(tmp_path / "k.pem")
    assert config["ssl_check_hostname"] is False
    assert "sasl_mechanism" not in config


def test_ssl_without_files_uses_system_cas():
    config = aiokafka_config(KafkaSettings(security_protocol="SSL"))

    assert isinstance(config["ssl_context"], ssl.SSLContext)
    assert config["ssl_context"].check_hostname is True
    assert config["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_aiokafka_gets_an_ssl_context_and_sasl():
    kafka = SASL.model_copy(update={"security_protocol": "SASL_SSL", "ssl_check_hostname": False})

    config = aiokafka_config(kafka)

    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_plain_password"] == "s3cret"
    assert config["ssl_context"].check_hostname is False


def test_faust_gets_every_broker_and_sasl_credentials():
    config = faust_broker_config(SASL)

    assert config["broker"] == "kafka://a:9092;kafka://b:9093"
    credentials = config["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("svc", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_PLAINTEXT"


def test_faust_sasl_ssl_carries_the_context():
    credentials = faust_broker_config(SASL.model_copy(update={"security_protocol": "SASL_SSL"}))["broker_credentials"]

    assert credentials.protocol.value == "SASL_SSL"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


def test_faust_ssl_only_gets_ssl_credentials():
    credentials = faust_broker_config(KafkaSettings(security_protocol="SSL"))["broker_credentials"]

    assert isinstance(credentials, faust.SSLCredentials)
    assert isinstance(credentials.context, ssl.SSLContext)


def test_faust_app_accepts_the_config():
    app = faust.App("cxpulse-unit", **faust_broker_config(SASL))

    assert [str(url) for url in app.conf.broker] == ["kafka://a:9092", "kafka://b:9093"]
    assert app.conf.broker_credentials is not None


@pytest.mark.parametrize("client", [KafkaProducer, KafkaConsumer, KafkaAdminClient])
def test_kafka_python_clients_know_every_key(client):
    # Every key must be a config the client accepts (KafkaAdminClient refuses unknown ones);
    # constructing would connect, so compare against the client's own defaults.
    kafka = SASL.model_copy(update={"security_protocol": "SASL_SSL"})

    assert set(kafka_python_config(kafka)) <= set(client.DEFAULT_CONFIG)


def test_aiokafka_producer_accepts_the_config():
    import inspect

    accepted = set(inspect.signature(AIOKafkaProducer.__init__).parameters)

    assert set(aiokafka_config(SASL.model_copy(update={"security_protocol": "SASL_SSL"}))) <= accepted


def test_a_connection_failure_names_the_clients_error_once():
    import socket

    from kafka.errors import KafkaTimeoutError

    from cxpulse.clients import connection_failure

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")

    line = connection_failure(kafka, KafkaTimeoutError("Unable to bootstrap"), timeout=1)

    assert line == f"cannot reach Kafka at 127.0.0.1:{port}: KafkaTimeoutError: Unable to bootstrap"
    assert connection_failure(kafka, OSError("refused"), timeout=1).endswith(": OSError: refused")
