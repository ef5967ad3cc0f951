"""The documented commands that need a broker, run as written, in the order a reader would;
and docs/backtest.md's run on the simulator, which needs no broker but a minute of work.

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

from ..doc_examples import RUN_OFFLINE, RUN_ON_A_BROKER, examples, zendesk_export

LINES = {example.key: example.shell for example in examples() if not example.inline}


def _shell(key: str, listed: set[str] = RUN_ON_A_BROKER) -> str:
    assert key in listed and key in LINES, f"{key} is not a documented example run here"
    return LINES[key]


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=cwd, env=env, check=False, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr
    return done


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
        return _run(_shell(key), home, env)

    run.settings, run.home = settings, home  # type: ignore[attr-defined]
    return run


def test_the_documented_walk_through(reader, consume, produce):
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

    # Another system's records (docs/sources.md, docs/producers.md): Zendesk's documented samples.
    zendesk_export(home / "export.jsonl")
    zendesk_export(home / "zendesk-export.jsonl")
    reader("cxpulse produce export.jsonl --source zendesk")
    reader("cxpulse produce zendesk-export.jsonl --source zendesk")
    mapped = [record for record in consume(topic) if record.key.startswith(b"zd-")]
    assert len(mapped) == 2 * 6  # each file: 8 records, 2 of which the mapping ignores
    total += len(mapped)

    # The alerts of the last 8 hours as a report (docs/operations.md).
    customers = ["cust-doc-0001-0000000000", "cust-doc-0002-0000000000"]
    produce(reader.settings.topics.alerts, [(customer, _alert(i, customer)) for i, customer in enumerate(customers)])
    reader("cxpulse alerts tail --since 8h --exit-at-end --lines")  # > today.txt
    report = (home / "today.txt").read_text(encoding="utf-8").splitlines()
    assert len(report) == 2 and all(customer in "\n".join(report) for customer in customers)

    reader("cxpulse simulate --days 90 --churn --outcomes outcomes.csv")
    outcomes = (home / "outcomes.csv").read_text(encoding="utf-8").splitlines()
    assert outcomes[0] == "customer_id,churned_at,reason,action" and len(outcomes) > 10
    assert len(consume(topic, timeout=120)) > total + 10 * simulated  # 90 days of the default population, not 3


def _alert(number: int, customer: str) -> bytes:
    return orjson.dumps({
        "alert_id": f"cxa-doc-{number}", "rule": "repeat_contact", "severity": "warning", "status": "firing",
        "customer_id": customer, "service_type": "billing", "segment": "standard", "score": 55.0,
        "risk_band": "at_risk", "triggered_at": "2025-03-03T09:00:00+00:00", "emitted_at": "2025-03-03T09:00:05+00:00",
        "summary": f"{customer} contacted billing 3 times within 72 h", "evidence": ["e1"]})


def test_the_backtest_pages_run_on_the_simulator(tmp_path):
    """docs/backtest.md, "A run on the simulator's hidden churn model": the three commands and the page's figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", CXPULSE_CONFIG="",
               COLUMNS="200")
    simulate, backtest, calibrate = (_shell(key, RUN_OFFLINE) for key in sorted(RUN_OFFLINE, key=_order))

    _run(simulate, tmp_path, env)
    truth = orjson.loads((tmp_path / "truth.json").read_bytes())
    causes = [c["cause"] for c in truth["churn"]["customers"] if c.get("churned_at")]
    assert truth["emitted"]["events"] == 174_056  # the page: 174,056 events; 220 left, 123 by experience, 97 not
    assert (truth["churn"]["left"], causes.count("experience"), causes.count("hidden")) == (220, 123, 97)

    tested = _run(backtest, tmp_path, env)
    page = (tmp_path / "default.html").read_text(encoding="utf-8")
    assert "23,112" in page and "0.621" in page  # customer-weeks and the default weights' ROC AUC
    assert "48 of 206 customers who left (23.3%)" in tested.stdout  # the lead time
    assert {p.name for p in (tmp_path / "docs").iterdir()} >= {"backtest-lift.png", "backtest-calibration.png"}

    fitted = _run(calibrate, tmp_path, env)
    assert "0.675" in fitted.stdout and (tmp_path / "calibrated.toml").is_file()  # held-out AUC, fitted weights


def _order(key: str) -> int:
    return ["cxpulse simulate", "cxpulse backtest", "cxpulse calibrate"].index(" ".join(key.split()[:2]))
