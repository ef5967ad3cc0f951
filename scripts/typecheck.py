"""mypy over cxpulse as it is installed: ``make lint`` runs this after ``ruff check .``.

The top-level folders install as subpackages of ``cxpulse`` (``processors/`` is
``cxpulse.processors``, pyproject's ``[tool.setuptools.package-dir]``) and the code imports
them by those names. The editable install resolves them with an import hook, which mypy does
not run, so mypy is given a tree of links laid out as the installed packages
(``build/mypy-src/cxpulse``, the ``files`` of ``[tool.mypy]``), as ``setup.py`` gives mypyc;
the paths in mypy's report are turned back into the source folders' paths.

    .venv/bin/python scripts/typecheck.py           # the whole configuration
    .venv/bin/python scripts/typecheck.py --pretty  # extra arguments go to mypy

The tree is made again on every run (a module added since is seen); mypy's options are all in
``pyproject.toml``. Exit status: mypy's (0 clean, 1 findings, 2 mypy could not run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "mypy-src"
TOP = "cxpulse"


def package_dirs() -> dict[str, str]:
    """Installed package -> source folder, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dirs: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return dirs


def stage_tree(dirs: dict[str, str], stage: Path = STAGE) -> dict[str, str]:
    """Make ``stage/cxpulse`` (relative links); return staged path prefix -> source path prefix,
    both as mypy prints them (relative to the repository's root)."""
    shutil.rmtree(stage, ignore_errors=True)
    top = stage / TOP
    top.mkdir(parents=True)
    subpackages = {name.split(".", 1)[1]: folder for name, folder in dirs.items() if name != TOP}
    source_top = ROOT / dirs[TOP]
    for entry in sorted(source_top.iterdir()):
        if entry.name in subpackages or entry.name == "__pycache__":
            continue
        (top / entry.name).symlink_to(os.path.relpath(entry, top))
    shown = os.path.relpath(top, ROOT)
    prefixes = {}
    for sub, folder in subpackages.items():
        if "." in sub:
            raise SystemExit(f"typecheck: {TOP}.{sub}: only top-level subpackages can be staged")
        (top / sub).symlink_to(os.path.relpath(ROOT / folder, top), target_is_directory=True)
        prefixes[f"{shown}/{sub}/"] = f"{folder}/"
    prefixes[f"{shown}/"] = f"{dirs[TOP]}/"
    return prefixes


def unstage(line: str, prefixes: dict[str, str]) -> str:
    for staged in sorted(prefixes, key=len, reverse=True):
        if line.startswith(staged):
            return prefixes[staged] + line[len(staged):]
    return line


def main(argv: list[str]) -> int:
    prefixes = stage_tree(package_dirs())
    proc = subprocess.run([sys.executable, "-m", "mypy", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        print(unstage(line, prefixes))
    sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
