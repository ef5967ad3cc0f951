"""``KafkaSettings`` as the keyword arguments of kafka-python, aiokafka and faust.

Every Kafka client in cxpulse is built from these functions, so the address and the
security settings (SASL, SSL) reach every client the same way::

    KafkaProducer(**kafka_python_config(settings.kafka), acks="all")
    AIOKafkaConsumer(topic, **aiokafka_config(settings.kafka))
    faust.App("cxpulse", **faust_broker_config(settings.kafka))
"""

import ssl
from typing import Any

from cxpulse.errors import ConfigError
from cxpulse.settings import KafkaSettings

__all__ = ["aiokafka_config", "bootstrap_list", "faust_broker_config", "kafka_python_config", "ssl_context"]


def bootstrap_list(kafka: KafkaSettings) -> list[str]:
    """``"a:9092, b:9092"`` -> ``["a:9092", "b:9092"]``."""
    return [server.strip() for server in kafka.bootstrap_servers.split(",") if server.strip()]


def _uses_ssl(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol in ("SSL", "SASL_SSL")


def _uses_sasl(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol.startswith("SASL_")


def _sasl(kafka: KafkaSettings) -> dict[str, Any]:
    if not kafka.sasl_username or kafka.sasl_password is None:
        # Without this, each client library fails later with its own obscure message.
        raise ConfigError(
            f"kafka.security_protocol is {kafka.security_protocol}: set kafka.sasl_username and "
            "kafka.sasl_password (e.g. CXPULSE_KAFKA__SASL_PASSWORD)"
        )
    password = kafka.sasl_password.get_secret_value()
    return {
        "sasl_mechanism": kafka.sasl_mechanism or "PLAIN",
        "sasl_plain_username": kafka.sasl_username,
        "sasl_plain_password": password,
    }


def kafka_python_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Arguments shared by kafka-python's ``KafkaProducer``, ``KafkaConsumer`` and ``KafkaAdminClient``."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(kafka),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if _uses_sasl(kafka):
        config.update(_sasl(kafka))
    if _uses_ssl(kafka):
        config["ssl_check_hostname"] = kafka.ssl_check_hostname
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(kafka, name)
            if path is not None:
                config[name] = str(path)
    return config


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """A TLS context from the CA, certificate and key files (system CAs when no CA file)."""
    from aiokafka.helpers import create_ssl_context

    context = create_ssl_context(
        cafile=_str(kafka.ssl_cafile), certfile=_str(kafka.ssl_certfile), keyfile=_str(kafka.ssl_keyfile)
    )
    context.check_hostname = kafka.ssl_check_hostname
    return context


def _str(path: Any) -> str | None:
    return None if path is None else str(path)


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Arguments shared by aiokafka's ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and admin client."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(kafka),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if _uses_sasl(kafka):
        config.update(_sasl(kafka))
    if _uses_ssl(kafka):
        config["ssl_context"] = ssl_context(kafka)
    return config


def faust_broker_config(kafka: KafkaSettings) -> dict[str, Any]:
    """``broker``, ``broker_client_id`` and ``broker_credentials`` for ``faust.App``."""
    config: dict[str, Any] = {
        "broker": ";".join(f"kafka://{server}" for server in bootstrap_list(kafka)),
        "broker_client_id": kafka.client_id,
    }
    credentials = _faust_credentials(kafka)
    if credentials is not None:
        config["broker_credentials"] = credentials
    return config


def _faust_credentials(kafka: KafkaSettings) -> Any:
    if kafka.security_protocol == "PLAINTEXT":
        return None
    import faust

    context = ssl_context(kafka) if _uses_ssl(kafka) else None
    if _uses_sasl(kafka):
        sasl = _sasl(kafka)
        return faust.SASLCredentials(
            username=sasl["sasl_plain_username"],
            password=sasl["sasl_plain_password"],
            mechanism=sasl["sasl_mechanism"],
            ssl_context=context,
        )
    return faust.SSLCredentials(context)
