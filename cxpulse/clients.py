"""``KafkaSettings`` as the keyword arguments of kafka-python, aiokafka and faust.

Every Kafka client in cxpulse is built from these functions, so the address and the
security settings (SASL, SSL) reach every client the same way::

    KafkaProducer(**kafka_python_config(settings.kafka), acks="all")
    AIOKafkaConsumer(topic, **aiokafka_config(settings.kafka))
    faust.App("cxpulse", **faust_broker_config(settings.kafka))

When a client cannot connect, :func:`connection_failure` says why in one line. Each library
reports a refused SASL login its own way — kafka-python as "Unable to bootstrap", aiokafka
as a connection error, faust not at all — so every cxpulse error site asks it, and on
failure it tries one connection with the same settings and names the cause: authentication
failed, a SASL mechanism the broker does not offer, a certificate TLS did not accept, or a
broker that cannot be reached.
"""

import asyncio
import concurrent.futures
import ssl
from typing import Any

from cxpulse.errors import ConfigError
from cxpulse.settings import KafkaSettings

__all__ = ["aiokafka_config", "bootstrap_list", "connection_failure", "connection_failure_async", "faust_broker_config",
           "kafka_python_config", "ssl_context"]


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


# --- why a connection failed -------------------------------------------------------------


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "no answer"
    name, text = type(exc).__name__, str(exc)
    if not text or text == name:
        return name
    return text if text.startswith(f"{name}: ") else f"{name}: {text}"  # kafka-python's errors name themselves


def connection_failure(kafka: KafkaSettings, exc: BaseException | None = None, timeout: float = 5.0) -> str:
    """One line: why a client with ``kafka`` could not connect (``exc``: what the client raised).

    Tries one connection (TLS and SASL as configured) to name the cause when it is the
    credentials, the mechanism or the certificate; else "cannot reach Kafka at ...". Never
    quotes the password. Blocks up to ``timeout`` seconds; safe to call from any thread.
    """
    cause = _known_cause(kafka, exc) or _probe_in_thread(kafka, timeout)
    if cause is not None:
        return f"Kafka at {kafka.bootstrap_servers}: {cause}"
    return f"cannot reach Kafka at {kafka.bootstrap_servers}: {_reason(exc)}"


async def connection_failure_async(kafka: KafkaSettings, exc: BaseException | None = None,
                                   timeout: float = 5.0) -> str:  # fmt: skip
    """:func:`connection_failure` for a coroutine: the probe runs in a thread, the loop goes on."""
    return await asyncio.to_thread(connection_failure, kafka, exc, timeout)


def _auth_failed(kafka: KafkaSettings) -> str:
    return (f"authentication failed: user {kafka.sasl_username!r} was refused with {kafka.sasl_mechanism or 'PLAIN'} "
            "(check kafka.sasl_username and kafka.sasl_password)")


def _known_cause(kafka: KafkaSettings, exc: BaseException | None) -> str | None:
    """The cause when the client's own exception already names it."""
    name = type(exc).__name__ if exc is not None else ""
    if name in ("SaslAuthenticationFailed", "SaslAuthenticationFailedError"):
        return _auth_failed(kafka)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _tls_refused(exc)
    return None


def _tls_refused(exc: ssl.SSLCertVerificationError) -> str:
    return f"TLS failed: {exc.verify_message or 'certificate verify failed'} (check kafka.ssl_cafile and the broker's host name)"


def _probe_in_thread(kafka: KafkaSettings, timeout: float) -> str | None:
    # Its own event loop in its own thread: callable from plain code and from inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cxpulse-kafka-probe") as pool:
        try:
            return pool.submit(asyncio.run, _probe(kafka, timeout)).result(timeout + 5)
        except Exception:  # noqa: BLE001 - a diagnosis that fails says nothing more
            return None


async def _probe(kafka: KafkaSettings, timeout: float) -> str | None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaConnectionError

    config = aiokafka_config(kafka)
    for server in config.pop("bootstrap_servers"):
        host, _, port = server.rpartition(":")
        try:
            async with asyncio.timeout(timeout):
                connection = await create_conn(host or "127.0.0.1", int(port), request_timeout_ms=int(timeout * 1000),
                                               **config)  # fmt: skip
        except ssl.SSLCertVerificationError as exc:
            return _tls_refused(exc)
        except KafkaConnectionError as exc:
            if "closed" in str(exc):
                return (f"the broker closed the connection during the handshake (does kafka.security_protocol, "
                        f"{kafka.security_protocol}, match its listener?)")
            continue
        except (OSError, TimeoutError, ValueError):
            continue  # not there: the next address, or "cannot reach"
        except Exception as exc:  # noqa: BLE001 - aiokafka's own errors name the cause
            name = type(exc).__name__
            if name == "SaslAuthenticationFailed":
                return _auth_failed(kafka)
            if name == "UnsupportedSaslMechanismError":
                return f"the broker does not offer SASL mechanism {kafka.sasl_mechanism or 'PLAIN'} (kafka.sasl_mechanism)"
            continue
        connection.close()
        return None  # it got in: the failure was something else
    return None
