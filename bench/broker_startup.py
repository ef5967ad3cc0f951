"""How long `cxpulse kafka up` takes: first time (jars resolved), cold (jars cached), restart.

    python bench/broker_startup.py [--runs 3] [--fresh-maven]

"first time" starts with an empty jar cache; with --fresh-maven Maven also gets an empty
local repository (as on a fresh machine: everything downloads from Maven Central).
"cold" is a new data directory with the jars cached (storage is formatted); "restart"
reuses the data directory. Each figure is from the start call until the broker answers
a metadata request. Ports are free ones; everything lives in a temporary directory.
"""

import argparse
import os
import platform
import socket
import statistics
import tempfile
from pathlib import Path

from cxpulse.broker import LocalBroker
from cxpulse.settings import BrokerSettings, load_settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_stop(settings: BrokerSettings) -> float:
    broker = LocalBroker(settings.model_copy(update={"port": _free_port(), "controller_port": _free_port()}))
    try:
        return broker.start().seconds
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh-maven", action="store_true", help="empty Maven repository for the first run")
    args = parser.parse_args()
    base = load_settings().broker
    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as tmp:
        root = Path(tmp)
        if args.fresh_maven:
            os.environ["MAVEN_OPTS"] = f"{os.environ.get('MAVEN_OPTS', '')} -Dmaven.repo.local={root / 'm2'}".strip()
        first = _start_stop(base.model_copy(update={"cache_dir": root / "cache", "data_dir": root / "first"}))
        if args.fresh_maven:
            os.environ.pop("MAVEN_OPTS")
        cached = base.model_copy(update={"cache_dir": root / "cache"})
        cold = [_start_stop(cached.model_copy(update={"data_dir": root / f"cold{i}"})) for i in range(args.runs)]
        restart = [_start_stop(cached.model_copy(update={"data_dir": root / "cold0"})) for _ in range(args.runs)]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, Kafka {base.kafka_version}")
    print(f"first time (jars resolved{', empty Maven repo' if args.fresh_maven else ''}): {first:.1f} s")
    print(f"cold, jars cached (median of {args.runs}): {statistics.median(cold):.1f} s  {[round(x, 1) for x in cold]}")
    print(f"restart, same data (median of {args.runs}): {statistics.median(restart):.1f} s  {[round(x, 1) for x in restart]}")


if __name__ == "__main__":
    main()
