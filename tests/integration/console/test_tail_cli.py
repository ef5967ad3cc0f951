"""``cxpulse alerts tail`` as a user runs it: --since and --exit-at-end on a real broker, and
one line, no traceback, when Kafka cannot be reached."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ...conftest import _free_port


def _cxpulse(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("cxpulse")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
    if config is not None:
        clean["CXPULSE_CONFIG"] = str(config)
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**clean, **(env or {}), "COLUMNS": "80"})


def _alert(alert_factory_id: int, customer: str) -> bytes:
    return orjson.dumps({
        "alert_id": f"cxa-tail-{alert_factory_id}", "rule": "repeat_contact", "severity": "warning",
        "status": "firing", "customer_id": customer, "service_type": "billing", "segment": "standard",
        "score": 55.0, "risk_band": "at_risk", "triggered_at": "2025-03-03T09:00:00+00:00",
        "emitted_at": "2025-03-03T09:00:05+00:00", "summary": f"{customer} contacted billing 3 times within 72 h",
        "evidence": ["e1"]})


def test_since_and_exit_at_end_print_what_was_written_and_end(settings_factory, config_file_factory, produce):
    settings = settings_factory(partitions=2)
    config = config_file_factory(settings)
    earlier = [f"cust-earlier-{i:04d}-0000000000" for i in range(3)]
    later = [f"cust-later-{i:04d}-00000000000000" for i in range(4)]  # longer than the old column
    produce(settings.topics.alerts, [(c, _alert(i, c)) for i, c in enumerate(earlier)])
    time.sleep(1.5)  # record times a second apart: --since needs something to split
    cut = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.5)
    produce(settings.topics.alerts, [(c, _alert(10 + i, c)) for i, c in enumerate(later)])

    since = _cxpulse("alerts", "tail", "--since", cut, "--exit-at-end", "--lines", config=config)
    everything = _cxpulse("alerts", "tail", "--from-beginning", "--exit-at-end", config=config)  # piped: lines

    assert since.returncode == 0, since.stderr
    assert sorted(line.split()[4] for line in since.stdout.splitlines()) == later  # full ids, only the later ones
    assert everything.returncode == 0, everything.stderr
    assert len(everything.stdout.splitlines()) == len(earlier) + len(later)
    assert all(customer in everything.stdout for customer in earlier + later)


def test_an_unreachable_broker_is_one_line_and_no_traceback():
    began = time.monotonic()
    result = _cxpulse("alerts", "tail", env={"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_free_port()}"}, timeout=60)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip()] and result.stderr.startswith("cxpulse: error: cannot reach Kafka at 127.0.0.1:")
    assert "Traceback" not in result.stderr + result.stdout
    assert time.monotonic() - began < 30
