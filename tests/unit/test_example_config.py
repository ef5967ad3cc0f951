"""cxpulse.example.toml loads, shows the true defaults, and documents every setting.

A new setting must be added to the example (commented, with its default) — the failure
message says which keys are missing.
"""

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cxpulse.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "cxpulse.example.toml"
# "# key = value" optionally followed by "  # comment" (two spaces or more before the '#').
COMMENTED_SETTING = re.compile(r"^# (?P<setting>[a-z_]+ = .+?)(?:\s{2,}#.*)?$")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    import os

    for name in list(os.environ):
        if name.startswith(("CXPULSE_", "KAFKA_", "XDG_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _uncommented(tmp_path: Path) -> Path:
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = COMMENTED_SETTING.match(line)
        lines.append(match.group("setting") if match else line)
    path = tmp_path / "uncommented.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _documented_keys() -> set[str]:
    keys, section = set(), ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[([\w.]+)\]$", line)
        if header:
            section = header.group(1)
            continue
        match = COMMENTED_SETTING.match(line) or re.match(r"^(?P<setting>[a-z_]+ = .+)$", line)
        if match:
            keys.add(f"{section}.{match.group('setting').split(' = ')[0]}")
    return keys


def _all_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _all_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_example_as_shipped_loads_as_the_defaults():
    assert load_settings(EXAMPLE) == Settings()


def test_every_setting_is_documented():
    missing = sorted(_all_keys(Settings) - _documented_keys())

    assert missing == [], f"add these to cxpulse.example.toml (commented, with their default): {missing}"


def test_documented_keys_all_exist():
    assert sorted(_documented_keys() - _all_keys(Settings)) == []


def _values(model: BaseModel, prefix: str = "") -> dict[str, Any]:
    values = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            values |= _values(value, f"{prefix}{name}.")
        else:
            values[f"{prefix}{name}"] = value
    return values


def test_uncommented_values_are_the_defaults(tmp_path):
    shown = _values(load_settings(_uncommented(tmp_path)))
    defaults = _values(Settings())

    # Settings whose default is "none" show an example value instead.
    differing = {key: (shown[key], value) for key, value in defaults.items() if value is not None and shown[key] != value}
    assert differing == {}
