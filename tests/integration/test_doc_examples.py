"""The documented commands that need a broker, run as written, in the order a reader would.

Each command is the shell line of README.md/docs/*.md itself (tests/doc_examples.py
finds it); only the configuration differs: ``CXPULSE_CONFIG`` names a file with this
test's broker, topics and free ports, as a reader's ``cxpulse.toml`` would.
"""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ..doc_examples import RUN_ON_A_BROKER, examples

LINES = {example.key: example.shell for example in examples() if not example.inline}


def _shell(key: str) -> str:
    assert key in RUN_ON_A_BROKER and key in LINES, f"{key} is not a documented example run here"
    return LINES[key]


@pytest.fixture
def reader(settings_factory, config_file_factory, tmp_path):
    """Runs documented lines in a fresh directory with the reader's config file."""
    settings = settings_factory(partitions=3)
    config = config_file_factory(settings)
    home = tmp_path / "reader"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", CXPULSE_CONFIG=str(config),
               COLUMNS="200")

    def run(key: str) -> subprocess.CompletedProcess:
        line = _shell(key)
        done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=home, env=env, check=False, capture_output=True,
                              text=True, timeout=240)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, done.stderr
        return done

    run.settings, run.home = settings, home  # type: ignore[attr-defined]
    return run


def test_the_documented_walk_through(reader, consume):
    home, topic = reader.home, reader.settings.topics.events

    reader("cxpulse topics create")
    assert topic in reader("cxpulse topics list").stdout
    reader("cxpulse simulate")
    simulated = len(consume(topic))
    assert simulated > 1000

    reader("cxpulse simulate --dry-run --anchor 2025-03-14T18:00:00+08:00 --seed 7")  # > events.jsonl
    written = len((home / "events.jsonl").read_bytes().splitlines())
    reader("cxpulse produce events.jsonl")
    with gzip.open(home / "old.jsonl.gz", "wb") as old:
        old.write((home / "events.jsonl").read_bytes())
    reader("cxpulse produce -")  # zcat old.jsonl.gz | cxpulse produce -
    total = simulated + 2 * written
    assert len(consume(topic)) == total

    reader("cxpulse archive --dir var/archive --once")
    assert (home / "var/archive/manifest.json").is_file()

    (home / "repeat-4.toml").write_text("[engine]\nrepeat_warning_at = 4\n", encoding="utf-8")  # the page's file
    reader("cxpulse replay --since 7d --settings repeat-4.toml --diff --out runs/repeat-4")
    reader("cxpulse replay --since 7d --diff --out runs/baseline")
    reader("cxpulse replay --from var/archive --diff --out runs/archive")
    kafka = orjson.loads((home / "runs/baseline/summary.json").read_bytes())
    archive = orjson.loads((home / "runs/archive/summary.json").read_bytes())
    changed = orjson.loads((home / "runs/repeat-4/summary.json").read_bytes())
    assert kafka["events"]["read"] == archive["events"]["read"] == total
    assert kafka["alerts"] == archive["alerts"]
    assert changed["alerts"]["total"] < kafka["alerts"]["total"]  # a higher threshold, fewer alerts
