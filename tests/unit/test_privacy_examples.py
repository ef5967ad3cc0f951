"""Examples that people copy use pseudonymous ids: no e-mail address or phone number as a customer id."""

import re
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CUSTOMER_ID_VALUE = re.compile(r"""customer_id["']?\s*[:=]\s*["']([^"']+)["']""")
PHONE_LIKE = re.compile(r"^\+?[0-9 ()-]{7,}$")


def _example_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "cxpulse.example.toml", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in files if path.is_file()]


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_docs_use_pseudonymous_customer_ids(path):
    text = path.read_text(encoding="utf-8")

    addresses = [m.group(0) for m in EMAIL.finditer(text) if not m.group(0).split("@")[1].startswith("example.")]
    assert addresses == []
    for value in CUSTOMER_ID_VALUE.findall(text):
        assert not EMAIL.search(value) and not PHONE_LIKE.match(value), value


def test_the_simulator_makes_pseudonymous_ids():
    from cxpulse.producers.simulator import Simulation, SimulationConfig

    simulation = Simulation(SimulationConfig(anchor=datetime(2025, 3, 14, tzinfo=UTC), seed=3, customers=50))
    ids = {event["customer_id"] for event in islice(simulation.events(), 300)}

    assert ids and all(re.fullmatch(r"cust-\d+-\d{6}", customer) for customer in ids)
