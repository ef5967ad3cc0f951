"""The image is reproducible: a pinned base, the lock file for every Python package, nothing fetched unpinned.

hadolint is not available here; these are the checks that matter for reproducibility,
read from the Dockerfile itself.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]


def _runs() -> list[str]:
    return [line[4:] for line in INSTRUCTIONS if line.startswith("RUN ")]


def test_the_base_image_is_an_exact_python_release():
    bases = [line.split()[1] for line in INSTRUCTIONS if line.startswith("FROM ")]

    assert bases, "no FROM"
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base


def test_every_pip_install_is_pinned_or_uses_the_lock():
    for run in _runs():
        for install in re.findall(r"pip install ([^&;]+)", run):
            words = install.split()
            packages = [w for w in words if not w.startswith("-") and words[words.index(w) - 1] not in ("-c", "-r")]
            uses_lock = "-c constraints.txt" in install
            for package in packages:
                assert uses_lock or "==" in package, f"unpinned: pip install {install}"


def test_the_project_is_installed_from_the_lock():
    assert any(re.search(r"pip install -c constraints\.txt \.(\s|$)", run) for run in _runs())
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "constraints.txt" not in ignored and "pyproject.toml" not in ignored


def test_nothing_is_downloaded_outside_a_package_manager():
    for run in _runs():
        assert not re.search(r"\b(curl|wget)\b", run), run
        assert "apt-get install" not in run or re.search(r"=\S+", run), f"unpinned apt package: {run}"
    assert not any(line.startswith("ADD ") and "://" in line for line in INSTRUCTIONS)


def test_the_build_backend_and_pip_are_pinned():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]

    assert requires and all("==" in item for item in requires)
    assert re.search(r"pip install pip==\d+", DOCKERFILE)


def test_it_runs_as_an_unprivileged_user():
    users = [line.split()[1] for line in INSTRUCTIONS if line.startswith("USER ")]

    assert users and users[-1] not in ("root", "0")
    assert "--uid 10001" in DOCKERFILE  # the uid deploy/kubernetes runs as
