"""``--settings FILE``: a TOML file whose ``[engine]`` table changes some engine settings.

The file has the config file's format (a whole ``cxpulse.toml`` works: other tables are
ignored); keys it leaves out keep their current values.
"""

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cxpulse.processors.engine import EngineSettings

from .errors import ReplayError

__all__ = ["load_engine_settings", "settings_delta"]


def load_engine_settings(path: Path, base: EngineSettings) -> EngineSettings:
    """``base`` with the ``[engine]`` table of ``path`` applied."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReplayError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read settings file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReplayError(f"settings file {path} is not valid TOML: {exc}") from None
    table = data.get("engine")
    if not isinstance(table, dict):
        raise ReplayError(f"settings file {path} has no [engine] table")
    try:
        return EngineSettings.model_validate(_merge(base.model_dump(), table))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReplayError(f"settings file {path}: invalid setting engine.{where}: {first['msg']}") from None


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def settings_delta(base: EngineSettings, new: EngineSettings) -> dict[str, tuple[Any, Any]]:
    """``"weights.complaint" -> (20.0, 30.0)`` for every setting that differs."""
    return dict(_delta(base.model_dump(), new.model_dump(), ""))


def _delta(old: dict[str, Any], new: dict[str, Any], prefix: str):
    for key in old:
        a, b = old[key], new[key]
        if isinstance(a, dict):
            yield from _delta(a, b, f"{prefix}{key}.")
        elif a != b:
            yield f"{prefix}{key}", (a, b)
