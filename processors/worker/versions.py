"""The faust-streaming and aiokafka versions the worker was tested with, checked at start-up.

The worker overrides private names of both libraries (docs/reliability.md, "Framework
internals"); each override has a test against the real class of the pinned version
(``tests/unit/worker/faustapp/test_internals.py``). Another version may have renamed or
changed any of them silently, so ``cxpulse worker`` refuses to start on one unless
``worker.allow_untested_versions`` is set.
"""

from importlib import metadata

from cxpulse.errors import CxpulseError

__all__ = ["TESTED_VERSIONS", "check_versions", "untested_versions"]

TESTED_VERSIONS: dict[str, str] = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
"""Distribution name to the exact version the overrides were tested with (the pins of pyproject.toml)."""


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def untested_versions(tested: dict[str, str] | None = None) -> list[str]:
    """``"name installed (tested: version)"`` for each library whose installed version was not tested."""
    found = []
    for name, version in (tested or TESTED_VERSIONS).items():
        installed = _installed(name)
        if installed != version:
            found.append(f"{name} {installed or 'not installed'} (tested: {version})")
    return found


def check_versions(allow_untested: bool, tested: dict[str, str] | None = None) -> list[str]:
    """Raise a one-line :class:`CxpulseError` for an untested version unless ``allow_untested``; returns what differs."""
    found = untested_versions(tested)
    if found and not allow_untested:
        raise CxpulseError("the worker was not tested with " + ", ".join(found)
                           + "; install the pinned versions or set worker.allow_untested_versions = true "
                           "(CXPULSE_WORKER__ALLOW_UNTESTED_VERSIONS=true)")
    return found
