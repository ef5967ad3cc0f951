"""Which modules are compiled with mypyc, and whether the compiled ones are in use.

``setup.py`` compiles the modules in :data:`COMPILED` when cxpulse is installed
(``pip install -e .``, as ``scripts/bootstrap.sh`` does; ``CXPULSE_COMPILE=0`` skips it). A
compiled module is an extension (``.so``) beside its ``.py``, which Python prefers; each build
records the sha256 of the sources it compiled in ``compiled-sources.json`` beside this file,
so that an extension older than its source is seen (a stale one would run old code). Run
``make bootstrap`` (or the pip command in it) after changing a compiled module.
"""

import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COMPILED", "RECORD", "CompiledModule", "compiled_modules", "source_digest"]

# Installed module names; each must type-check under mypy as it is (docs/architecture.md).
COMPILED = [
    "cxpulse.processors.archive.gzlines",
    "cxpulse.processors.replay.ranges",
    # The engine's per-event path (issue 11): the step, its windows, tickets, score and alerts.
    "cxpulse.processors.engine.state",
    "cxpulse.processors.engine.compiled",
    "cxpulse.processors.engine.score",
    "cxpulse.processors.engine.alerting",
    "cxpulse.processors.engine.windows",
    "cxpulse.processors.engine.tickets",
    "cxpulse.processors.engine.engine",
    # Around it (issue 11, target 3): the partition clocks, the SLA index, the orchestration core
    # and the single-process driver the replay feeds; the incident rule they decide with.
    "cxpulse.processors.engine.sla",
    "cxpulse.processors.engine.clocks",
    "cxpulse.processors.engine.incident",
    "cxpulse.processors.engine.orchestration",
    "cxpulse.processors.engine.driver",
    # The parallel replay's serial part: the walk of every group's timeline in the merged order.
    "cxpulse.processors.replay.schedule",
]
RECORD = Path(__file__).with_name("compiled-sources.json")  # written by setup.py, not in git


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class CompiledModule:
    """One module of :data:`COMPILED` as imported now."""

    name: str
    compiled: bool  # the extension is what was imported
    fresh: bool  # built from the source that is there now (False when not compiled)


def compiled_modules() -> list[CompiledModule]:
    """Every module of :data:`COMPILED`: imported compiled, and built from today's source?"""
    built = json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.exists() else {}
    found = []
    for name in COMPILED:
        module = importlib.import_module(name)
        compiled = Path(module.__file__ or "").suffix != ".py"
        # The source beside it, found through its package: mypyc gives a module another
        # compiled module imports first a ``__file__`` under its build tree's layout.
        package, leaf = name.rsplit(".", 1)
        source = Path(importlib.import_module(package).__path__[0]) / f"{leaf}.py"
        fresh = compiled and source.exists() and built.get(name) == source_digest(source)
        found.append(CompiledModule(name, compiled, fresh))
    return found
