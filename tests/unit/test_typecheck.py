"""scripts/typecheck.py (make lint): mypy sees every package under its installed name, and its
report names the source files."""

import importlib.util
import os
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def typecheck():
    spec = importlib.util.spec_from_file_location("typecheck", ROOT / "scripts" / "typecheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_installed_package_is_in_the_staged_tree_as_its_source(typecheck, tmp_path):
    stage = tmp_path / "mypy-src"
    typecheck.stage_tree(typecheck.package_dirs(), stage)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    dirs = config["setuptools"]["package-dir"]
    for package in config["setuptools"]["packages"]:
        staged = stage.joinpath(*package.split(".")) / "__init__.py"
        assert staged.is_file(), f"{package} is not in the tree mypy checks"
        top = max((p for p in dirs if package == p or package.startswith(p + ".")), key=len)
        source = ROOT / dirs[top] / Path(*package.split(".")[top.count(".") + 1:]) / "__init__.py"
        assert staged.resolve() == source.resolve(), package
    # Links are relative: the tree works wherever the repository is.
    assert all(not os.path.isabs(os.readlink(link)) for link in (stage / "cxpulse").iterdir())


def test_the_report_names_source_paths(typecheck, tmp_path):
    prefixes = typecheck.stage_tree(typecheck.package_dirs(), ROOT / "build" / "mypy-src")
    lines = {
        "build/mypy-src/cxpulse/processors/engine/state.py:3: error: x  [misc]": "processors/engine/state.py:3: error: x  [misc]",
        "build/mypy-src/cxpulse/schemas/events.py:9: note: y": "schemas/events.py:9: note: y",
        "build/mypy-src/cxpulse/cli.py:1: error: z  [misc]": "cxpulse/cli.py:1: error: z  [misc]",
        "Found 3 errors in 3 files (checked 195 source files)": "Found 3 errors in 3 files (checked 195 source files)",
    }
    assert {line: typecheck.unstage(line, prefixes) for line in lines} == lines
