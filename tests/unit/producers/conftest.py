from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from cxpulse.processors.engine.settings import EngineSettings
from cxpulse.producers.simulator import Simulation, SimulationConfig

ANCHOR = datetime(2025, 3, 14, 18, 0, tzinfo=UTC)


@pytest.fixture
def simulation_factory() -> Callable[..., Simulation]:
    """``simulation_factory(**config)``: a Simulation anchored at a fixed moment (customers=600 by default)."""

    def build(**overrides: Any) -> Simulation:
        fields: dict[str, Any] = {"anchor": ANCHOR, "seed": 11, "customers": 600}
        fields.update(overrides)
        if isinstance(fields.get("engine"), dict):
            fields["engine"] = EngineSettings(**fields["engine"])
        return Simulation(SimulationConfig(**fields))

    return build
