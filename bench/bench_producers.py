"""Producer throughput: the simulator (dry run and into Kafka) and the JSONL file import.

    python bench/bench_producers.py [--customers 20000] [--days 5] [--bootstrap HOST:PORT]

Cases, each timed from the first event to the last acknowledgement (or the last line
written), as wall-clock events/s and as events per CPU-second of the producing process
(all its threads; the broker's CPU is not included), the figure that depends least on
what else the machine is doing:

- ``simulate --dry-run``: generation + JSON encoding, written to a file;
- ``simulate`` into Kafka: the same events produced to a 6-partition topic (acks=all,
  idempotent, default ``[producer]`` settings), every delivery confirmed;
- ``produce --check``: the same events as a JSONL file, read and validated only;
- ``produce``: the JSONL file validated and produced, every delivery confirmed.

Without ``--bootstrap`` (or ``$KAFKA_BOOTSTRAP_SERVERS``) a local broker is started on
free ports in a temporary directory and stopped at the end.

``--scale`` instead generates 100,000 customers over 8 days (dry run, discarded) and
reports the rate and the process's peak resident memory.
"""

import argparse
import os
import platform
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cxpulse.producers.fileimport import import_records, read_jsonl
from cxpulse.producers.produce_cmd import CheckOnlySink
from cxpulse.producers.runner import RunLimits, run_events
from cxpulse.producers.simulator import Simulation, SimulationConfig
from cxpulse.producers.sink import DeliveryReport, EventSink, JsonlSink, KafkaSink
from cxpulse.settings import KafkaSettings, Settings, TopicSettings, load_settings
from cxpulse.topics import TopicSpec, ensure_topics

ANCHOR = datetime(2025, 3, 14, 18, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from cxpulse.broker import LocalBroker

    settings = load_settings().broker.model_copy(
        update={"port": _free_port(), "controller_port": _free_port(), "data_dir": workdir / "kafka"}
    )
    local = LocalBroker(settings)
    started = local.start()
    print(f"local broker up in {started.seconds:.1f} s at {started.bootstrap_servers}")
    try:
        yield started.bootstrap_servers
    finally:
        local.stop()


def simulation(args: argparse.Namespace) -> Simulation:
    config = SimulationConfig(anchor=ANCHOR, seed=args.seed, customers=args.customers, days=args.days)
    return Simulation(config)


def kafka_sink(bootstrap: str, name: str) -> tuple[Settings, KafkaSink]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="cxpulse-bench")
    settings = Settings(kafka=kafka, topics=TopicSettings(events=name))
    ensure_topics(kafka, [TopicSpec(name, 6, 1, {})])
    return settings, KafkaSink.connect(settings, name)


def timed_simulation(args: argparse.Namespace, sink: EventSink) -> tuple[int, float, float, DeliveryReport]:
    began, cpu = time.perf_counter(), time.process_time()
    sim = simulation(args)  # building the population is part of the run, as on the command line
    stats = run_events(sim.events(), sink, RunLimits())
    report = sink.close()
    return stats.emitted, time.perf_counter() - began, time.process_time() - cpu, report


def timed_import(path: Path, sink: EventSink) -> tuple[int, float, float, DeliveryReport]:
    began, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as stream:
        result = import_records(read_jsonl(stream), sink)
    report = sink.close()
    return result.produced, time.perf_counter() - began, time.process_time() - cpu, report


def row(case: str, events: int, seconds: float, cpu: float, report: DeliveryReport | None = None) -> str:
    """Wall-clock rate, and events per CPU-second of this process (all its threads): less load-dependent."""
    failed = f", {report.failed} failed" if report is not None and report.failed else ""
    return f"| {case} | {events:,} | {seconds:.1f} s | {events / seconds:,.0f}{failed} | {events / cpu:,.0f} |"


def scale(args: argparse.Namespace) -> None:
    import resource

    args.customers, args.days = 100_000, 8.0
    began = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        n, _, _, _ = timed_simulation(args, JsonlSink(devnull))
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.customers:,} customers, {args.days:g} days: {n:,} events in {seconds:.1f} s "
          f"({n / seconds:,.0f} events/s), peak RSS {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--scale", action="store_true", help="100,000 customers, 8 days, dry run: rate and memory")
    args = parser.parse_args()
    if args.scale:
        scale(args)
        return
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {args.customers:,} customers, {args.days:g} days")
    rows = ["| case | events | time | events/s | events per CPU-second |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as tmp:
        workdir = Path(tmp)
        jsonl = workdir / "events.jsonl"
        with jsonl.open("wb") as stream:
            n, seconds, cpu, _ = timed_simulation(args, JsonlSink(stream))
        rows.append(row("`simulate --dry-run` (generate + encode + write)", n, seconds, cpu))
        n, seconds, cpu, _ = timed_import(jsonl, CheckOnlySink())
        rows.append(row("`produce --check` (read + validate)", n, seconds, cpu))
        with broker(args.bootstrap, workdir) as bootstrap:
            stamp = int(time.time())
            _, sink = kafka_sink(bootstrap, f"bench-sim-{stamp}")
            n, seconds, cpu, report = timed_simulation(args, sink)
            rows.append(row("`simulate` to Kafka (acks=all, confirmed)", n, seconds, cpu, report))
            _, sink = kafka_sink(bootstrap, f"bench-import-{stamp}")
            n, seconds, cpu, report = timed_import(jsonl, sink)
            rows.append(row("`produce FILE.jsonl` to Kafka (validate, acks=all, confirmed)", n, seconds, cpu, report))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
