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
