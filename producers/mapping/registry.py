"""Finding a source mapping by name: the configured folder first, then the presets shipped here.

    mapper = load_source("zendesk", settings)       # [sources] dir/zendesk.toml, else the preset
    mapper = load_source("./my-crm.toml", settings) # a path names a file directly
    preset_names()                                   # ("amazon-connect", "salesforce-case", "zendesk")
"""

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from cxpulse.errors import ConfigError

from .mapper import Mapper
from .spec import MappingFile, load_mapping_file, parse_mapping

__all__ = ["load_mapping", "load_source", "preset_names"]

_PRESETS = "presets"


def preset_names() -> tuple[str, ...]:
    """The names of the presets shipped with cxpulse, sorted."""
    folder = files("cxpulse.producers.mapping").joinpath(_PRESETS)
    return tuple(sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml")))


def load_mapping(name: str, folder: Path | None) -> tuple[MappingFile, str]:
    """The mapping called ``name`` (or at the path ``name``) and where it came from."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"source mapping {name}: no such file")
        return load_mapping_file(path), str(path)
    if folder is not None:
        path = folder / f"{name}.toml"
        if path.is_file():
            return load_mapping_file(path), str(path)
    if name in preset_names():
        text = files("cxpulse.producers.mapping").joinpath(_PRESETS, f"{name}.toml").read_text("utf-8")
        return parse_mapping(tomllib.loads(text), f"preset {name}", name), f"preset {name}"
    where = f" in {folder} or" if folder is not None else ""
    raise ConfigError(f"no source mapping named {name!r}{where} among the presets ({', '.join(preset_names())})")


def load_source(name: str, settings: Any) -> Mapper:
    """A ready :class:`Mapper` for ``name`` with ``settings.sources`` (folder, hash key)."""
    sources = settings.sources
    mapping, origin = load_mapping(name, sources.dir)
    key = sources.hash_key.get_secret_value() if sources.hash_key is not None else None
    return Mapper(mapping, key, origin)
