"""TLS and SASL/SCRAM for the local broker rig: a throwaway CA, the broker's certificate, users.

``cxpulse kafka up --secure`` and the tests' secured broker use this. Everything lives in
``<data_dir>/security`` (mode 0700): ``ca.pem`` (what clients trust), ``broker.pem``
(the broker's key and certificate, Kafka's ``ssl.keystore.type=PEM``), ``users.json``
(the SCRAM passwords, random per data directory) and ``kafka-client.toml`` (a ``[kafka]``
table for cxpulse's clients). The users are created when the storage is formatted
(``StorageTool format --add-scram``), so a secured data directory needs no running
broker to bootstrap them. The material is for a test rig: a real deployment brings its
own CA and users (see ``docs/security.md``).

Listeners: clients and the broker itself use ``SASL_SSL`` on ``port``. The KRaft controller
listener (``controller_port``) is TLS with a *required client certificate*: only a holder of
``broker.pem`` — the broker itself, talking to its own controller — gets in. Plaintext, it
let any local process alter topic and broker configs (even open a new listener) without
credentials. SCRAM cannot secure it (the controller serves the SCRAM credentials).
"""

import datetime
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cxpulse.settings import KafkaSettings

__all__ = [
    "ADMIN_USER",
    "CLIENT_USER",
    "SCRAM_MECHANISM",
    "RigSecurity",
    "ensure_security",
    "load_security",
    "scram_format_args",
    "secure_properties",
]

SCRAM_MECHANISM = "SCRAM-SHA-512"
ADMIN_USER = "cxpulse-broker"  # the broker's own (inter-broker) principal
CLIENT_USER = "cxpulse"  # the principal cxpulse's clients use
_DAYS_VALID = 365


@dataclass(frozen=True)
class RigSecurity:
    """The rig's TLS files and SCRAM users."""

    directory: Path
    admin_password: str
    client_password: str

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def client_config_file(self) -> Path:
        return self.directory / "kafka-client.toml"

    def client_settings(self, bootstrap_servers: str, client_id: str = "cxpulse") -> KafkaSettings:
        """``KafkaSettings`` that reach this rig with SCRAM over TLS as ``cxpulse``."""
        return KafkaSettings(
            bootstrap_servers=bootstrap_servers, client_id=client_id, security_protocol="SASL_SSL",
            sasl_mechanism=SCRAM_MECHANISM, sasl_username=CLIENT_USER, sasl_password=self.client_password,
            ssl_cafile=self.ca_file,
        )  # fmt: skip

    def write_client_config(self, bootstrap_servers: str) -> Path:
        """Write ``kafka-client.toml`` (mode 0600): the ``[kafka]`` table for cxpulse's clients."""
        kafka = self.client_settings(bootstrap_servers)
        lines = [
            "[kafka]",
            f'bootstrap_servers = "{kafka.bootstrap_servers}"',
            'security_protocol = "SASL_SSL"',
            f'sasl_mechanism = "{SCRAM_MECHANISM}"',
            f'sasl_username = "{CLIENT_USER}"',
            f'sasl_password = "{self.client_password}"',
            f"ssl_cafile = {json.dumps(str(self.ca_file))}",
        ]
        _write_private(self.client_config_file, "\n".join(lines) + "\n")
        return self.client_config_file


def load_security(directory: Path) -> RigSecurity | None:
    """The material in ``directory``, or None when it was never made (or is incomplete)."""
    users = directory / "users.json"
    if not (users.is_file() and (directory / "ca.pem").is_file() and (directory / "broker.pem").is_file()):
        return None
    data = json.loads(users.read_text())
    return RigSecurity(directory, data["admin"], data["client"])


def ensure_security(directory: Path, host: str) -> RigSecurity:
    """Load the material in ``directory``, making it first when it is not there."""
    existing = load_security(directory)
    if existing is not None:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_key, ca_cert = _make_ca()
    key, cert = _make_server_cert(ca_key, ca_cert, host)
    _write_private(directory / "ca.pem", _pem_cert(ca_cert))
    _write_private(directory / "broker.pem", _pem_key(key) + _pem_cert(cert) + _pem_cert(ca_cert))
    users = {"admin": secrets.token_hex(24), "client": secrets.token_hex(24)}
    _write_private(directory / "users.json", json.dumps(users) + "\n")
    return RigSecurity(directory, users["admin"], users["client"])


def secure_properties(security: RigSecurity, host: str, port: int, controller_port: int) -> dict[str, str]:
    """``server.properties`` entries: ``port`` SASL_SSL (the only client listener), the controller mutual TLS."""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{security.admin_password}";'
    )
    return {
        "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_SSL://{host}:{port}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        # Mutual TLS on the controller listener: the broker presents broker.pem (its keystore, also
        # its client certificate); a client without a certificate from the rig's CA is refused.
        "listener.name.controller.ssl.client.auth": "required",
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
        f"listener.name.sasl_ssl.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(security.keystore_file),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(security.ca_file),
        "ssl.client.auth": "none",
        "ssl.endpoint.identification.algorithm": "https",
    }


def scram_format_args(security: RigSecurity) -> list[str]:
    """``StorageTool format`` arguments that create the broker's and the clients' SCRAM users."""
    return [
        "--add-scram", f"{SCRAM_MECHANISM}=[name={ADMIN_USER},password={security.admin_password}]",
        "--add-scram", f"{SCRAM_MECHANISM}=[name={CLIENT_USER},password={security.client_password}]",
    ]  # fmt: skip


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cxpulse test CA")])
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)  # fmt: skip
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server_cert(ca_key, ca_cert, host: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        address = ipaddress.ip_address(host)
        if address != ipaddress.ip_address("127.0.0.1"):
            names.append(x509.IPAddress(address))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cxpulse test broker")])
    cert = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)  # fmt: skip
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _builder(subject, issuer, public_key):
    from cryptography import x509

    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_DAYS_VALID))
    )


def _pem_cert(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode("ascii")


def _pem_key(key) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    # Unencrypted PKCS#8: what Kafka's PEM keystore reads when ssl.key.password is not set.
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
