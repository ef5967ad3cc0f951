"""The start-up check of the faust-streaming and aiokafka versions the worker's overrides were tested with."""

from importlib import metadata

import pytest

from cxpulse.errors import CxpulseError
from cxpulse.processors.worker.versions import TESTED_VERSIONS, check_versions, untested_versions


def test_the_pinned_versions_are_the_installed_ones():
    assert untested_versions() == []
    assert check_versions(False) == []
    assert TESTED_VERSIONS == {name: metadata.version(name) for name in ("faust-streaming", "aiokafka")}


def test_the_pins_of_pyproject_are_the_tested_versions():
    import tomllib
    from pathlib import Path

    deps = tomllib.loads((Path(__file__).parents[4] / "pyproject.toml").read_text())["project"]["dependencies"]
    for name, version in TESTED_VERSIONS.items():
        assert f"{name}=={version}" in deps


def test_an_untested_version_is_refused_in_one_line_unless_allowed():
    tested = {"faust-streaming": "0.0.1", "aiokafka": TESTED_VERSIONS["aiokafka"]}
    with pytest.raises(CxpulseError) as raised:
        check_versions(False, tested)
    message = str(raised.value)
    assert "\n" not in message and "faust-streaming " + metadata.version("faust-streaming") in message
    assert "(tested: 0.0.1)" in message and "worker.allow_untested_versions" in message
    assert check_versions(True, tested) == [f"faust-streaming {metadata.version('faust-streaming')} (tested: 0.0.1)"]


def test_a_missing_library_is_named():
    assert untested_versions({"cxpulse-no-such-distribution": "1.0"}) == [
        "cxpulse-no-such-distribution not installed (tested: 1.0)"]
