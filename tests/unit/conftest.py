"""Fixtures shared by the unit tests (no broker)."""

import os

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No CXPULSE_* or KAFKA_* variable and no ./cxpulse.toml leak in from the machine."""
    for name in list(os.environ):
        if name.startswith(("CXPULSE_", "KAFKA_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
