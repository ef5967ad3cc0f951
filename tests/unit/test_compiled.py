"""The compiled modules (cxpulse/compiled.py, setup.py): the ones imported, and built from today's source.

Compiled is the default of every install (``make bootstrap``); ``CXPULSE_COMPILE=0`` installs
pure Python, and then this tells so instead of failing.
"""

import os

import pytest

from cxpulse.compiled import COMPILED, compiled_modules


@pytest.mark.skipif(os.environ.get("CXPULSE_COMPILE") == "0", reason="installed as pure Python (CXPULSE_COMPILE=0)")
def test_the_compiled_modules_are_the_ones_imported_and_fresh():
    found = compiled_modules()
    assert [m.name for m in found] == COMPILED
    missing = [m.name for m in found if not m.compiled]
    assert not missing, f"not compiled (is there a C compiler? run make bootstrap): {missing}"
    stale = [m.name for m in found if not m.fresh]
    assert not stale, f"compiled from an older source: run make bootstrap to rebuild {stale}"


def test_a_compiled_module_behaves_as_its_source():
    from cxpulse.processors.archive.record import SourceRecord
    from cxpulse.processors.replay.ranges import clip, merge_partitions

    a = [SourceRecord(0, i, t, b"k", "v") for i, t in enumerate([1, 3, 5])]
    b = [SourceRecord(1, i, t, b"k", "v") for i, t in enumerate([2, 3, 4])]
    merged = [(r.partition, r.timestamp) for r in merge_partitions([iter(a), iter(b)])]
    assert merged == [(0, 1), (1, 2), (0, 3), (1, 3), (1, 4), (0, 5)]
    assert [r.timestamp for r in clip(a, 2, 5)] == [3]


# Run in a fresh interpreter: every module of COMPILED imported from its .py source (the
# extensions beside them ignored), as an install without a C compiler runs.
_PURE = r'''
import importlib.util, json, sys
from pathlib import Path

compiled = set(json.loads(sys.argv[1]))


class Source:
    """Finds the .py of a compiled module before the extension finder does."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in compiled or not path:
            return None
        for folder in path:
            source = Path(folder) / (name.rsplit(".", 1)[1] + ".py")
            if source.exists():
                return importlib.util.spec_from_file_location(name, source)
        return None


sys.meta_path.insert(0, Source)
from tests.unit.engine import golden  # noqa: E402

pure = [name for name in compiled if name in sys.modules and not sys.modules[name].__file__.endswith(".py")]
assert "cxpulse.processors.engine.engine" in sys.modules
assert not pure, f"imported compiled: {pure}"
assert golden.run_golden() == golden.load_golden(), "the pure-Python engine differs from the golden output"
print("pure golden ok")
'''


def test_the_pure_python_fallback_gives_the_golden_output():
    # One source, two builds: without the extensions the engine gives the same recorded output
    # (test_golden.py checks the compiled build the suite imports).
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _PURE, json.dumps(COMPILED)], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pure golden ok" in done.stdout
