"""Build hook: the modules listed in ``cxpulse/compiled.py`` become C extensions with mypyc;
everything else (and everything, with ``CXPULSE_COMPILE=0``) stays pure Python.
``pyproject.toml`` holds the rest of the metadata.

One source: a compiled module is its ``.py`` file compiled, and Python prefers the extension
(``.so``) beside the ``.py``, so removing the ``.so`` files (or installing with
``CXPULSE_COMPILE=0``) runs the very same code in the interpreter. ``cxpulse.compiled``
tells which are in use and whether each was built from the source that is there now.

The folders install under other names (``processors/`` is ``cxpulse.processors``, see
``[tool.setuptools.package-dir]``) and mypyc names a module after its folders, so it is given
a tree of links laid out as the installed packages (``build/mypyc-src``).
"""

import hashlib
import json
import os
import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
# Installed package -> source folder (as in pyproject.toml's package-dir).
PACKAGE_DIRS = {"cxpulse": "cxpulse", "cxpulse.schemas": "schemas", "cxpulse.producers": "producers",
                "cxpulse.processors": "processors", "cxpulse.alerts": "alerts"}
COMPILED: list[str] = runpy.run_path(str(ROOT / "cxpulse" / "compiled.py"))["COMPILED"]


def _source(name: str) -> Path:
    package, rest = next((p, name[len(p) + 1:]) for p in sorted(PACKAGE_DIRS, key=len, reverse=True)
                         if name.startswith(p + "."))
    return (ROOT / PACKAGE_DIRS[package] / rest.replace(".", "/")).with_suffix(".py")


def _staged_tree() -> Path:
    """``build/mypyc-src/cxpulse/...``: links to the sources, laid out as installed."""
    stage = ROOT / "build" / "mypyc-src"
    shutil.rmtree(stage, ignore_errors=True)
    top = stage / "cxpulse"
    top.mkdir(parents=True)
    for entry in (ROOT / "cxpulse").iterdir():
        (top / entry.name).symlink_to(entry)
    for package, folder in PACKAGE_DIRS.items():
        if package != "cxpulse":
            (top / package.split(".", 1)[1]).symlink_to(ROOT / folder, target_is_directory=True)
    return stage


def _ext_modules() -> list:
    record = ROOT / "cxpulse" / "compiled-sources.json"
    record.unlink(missing_ok=True)
    if os.environ.get("CXPULSE_COMPILE", "1") == "0" or not COMPILED:
        return []
    from mypyc.build import mypycify

    stage = _staged_tree()
    paths = [str((stage / name.replace(".", "/")).with_suffix(".py").relative_to(ROOT)) for name in COMPILED]
    cwd = os.getcwd()
    os.chdir(ROOT)  # mypyc names modules by the paths given, relative to here
    try:
        # Only the compiled modules must type-check; what they import is read, not judged.
        modules = mypycify(["--ignore-missing-imports", "--follow-imports=silent", "--no-warn-unused-ignores", *paths], opt_level="3",
                           target_dir="build/mypyc-c")
    finally:
        os.chdir(cwd)
    digests = {name: hashlib.sha256(_source(name).read_bytes()).hexdigest() for name in COMPILED}
    record.write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
    return modules


class _OptionalBuildExt(build_ext):
    """A machine without a C compiler (a slim container image) installs pure Python: the
    compiled modules are an optimisation, never a requirement."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - no compiler, no headers: fall back
            self.warn(f"cxpulse: compiling with mypyc failed ({exc}); installing pure Python")

    def build_extension(self, ext) -> None:  # noqa: ANN001 - setuptools' signature
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self.warn(f"cxpulse: {ext.name} not compiled ({exc}); it runs as pure Python")


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": _OptionalBuildExt})
