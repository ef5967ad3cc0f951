"""Every Kafka client in cxpulse gets its address and security from cxpulse.clients.

A client built without ``**kafka_python_config(...)``, ``**aiokafka_config(...)`` or
``**faust_broker_config(...)`` (or a helper that returns one) would ignore SASL and TLS
settings: this scans the source so that no such client slips in.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cxpulse", "producers", "processors", "alerts", "schemas")
CLIENTS = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient", "AIOKafkaProducer", "AIOKafkaConsumer",
           "AIOKafkaAdminClient", "App"}  # fmt: skip
CONFIGS = {"kafka_python_config", "aiokafka_config", "faust_broker_config", "producer_config"}
# The rig's probe builds its own config from KafkaSettings through kafka_python_config too.
EXEMPT = {"cxpulse/clients.py"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _uses_config(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg is not None:
            continue
        for inner in ast.walk(keyword.value):
            if isinstance(inner, ast.Call) and _name(inner.func) in CONFIGS:
                return True
            if isinstance(inner, ast.Name) and inner.id in ("security", "config", "settings_kwargs"):
                return True  # a dict built from one of CONFIGS a few lines above
    return False


def test_every_kafka_client_is_built_from_the_shared_config():
    offenders, checked = [], 0
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in EXEMPT:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _name(node.func) in CLIENTS:
                    if _name(node.func) == "App" and not (isinstance(node.func, ast.Attribute) and _name(node.func.value) == "faust"):
                        continue
                    checked += 1
                    if not _uses_config(node):
                        offenders.append(f"{relative}:{node.lineno}")

    assert checked >= 6  # the scan sees the producers, gateway, worker, console, archive, replay
    assert offenders == []


def test_the_scan_catches_a_client_without_the_shared_config():
    bare = ast.parse('KafkaProducer(bootstrap_servers="127.0.0.1:9092", acks="all")').body[0].value
    shared = ast.parse('KafkaProducer(**kafka_python_config(settings.kafka), acks="all")').body[0].value

    assert not _uses_config(bare) and _uses_config(shared)
