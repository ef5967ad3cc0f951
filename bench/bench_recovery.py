"""Sizing benchmark: memory per customer and recovery time from the changelog, at several scales.

Needs a running broker (``cxpulse kafka up``, or ``--bootstrap HOST:PORT``). For each
``--customers`` value:

1. generates ``--events-per-customer`` × customers JSON events with
   ``bench/bench_engine.py``'s generator and loads them into a fresh topic
   (``--partitions``);
2. runs ``cxpulse worker`` (a subprocess) until it has processed them all: events/s,
   resident memory once ready and at the end, customers stored, changelog records;
3. stops it (SIGTERM) and starts a second worker of the same app id with an empty data
   directory, the way a replacement pod starts: the time until it holds every customer
   again (rebuilt from the changelog) and its memory then.

Prints one JSON object per scale and a least-squares line (intercept + slope per
customer) for memory and recovery time, which docs/operations.md ("Sizing") extrapolates.

    python bench/bench_recovery.py --customers 20000 40000 80000
"""

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_worker import Worker, _generator, _load, _settings

from cxpulse.topics import ensure_topics, topic_specs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _changelog_records(settings, app_id: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    try:
        topic = f"{app_id}-customer_to_state-changelog"
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def one_scale(bootstrap: str, customers: int, per_customer: float, partitions: int, workdir: Path) -> dict:
    run = uuid.uuid4().hex[:8]
    settings = _settings(bootstrap, run, workdir, _free_port(), fast_drain=True)
    settings = settings.model_copy(update={"topics": settings.topics.model_copy(update={"partitions": partitions})})
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    lines = _generator()(int(customers * per_customer), customers, seed=customers)
    asyncio.run(_load(settings, lines))
    first = Worker(settings, workdir)
    try:
        first.wait(lambda h: not h["rebalancing"] and h["assigned_partitions"] > 0, 240)
        rss_ready = first.rss_mb()
        started = time.perf_counter()
        health = first.wait(lambda h: h["events"] + h.get("invalid", 0) + h.get("duplicates", 0) >= len(lines), 1800, poll=0.5)
        seconds = time.perf_counter() - started
        stored = health["customers_stored"]
        rss_done = first.rss_mb()
    finally:
        first.stop()
    changelog = _changelog_records(settings, settings.worker.app_id)
    replacement_settings = settings.model_copy(update={"worker": settings.worker.model_copy(
        update={"data_dir": str(workdir / f"{run}-replacement"), "web_port": _free_port()})})
    began = time.perf_counter()
    second = Worker(replacement_settings, workdir)
    try:
        second.wait(lambda h: h["customers_stored"] >= stored and not h["rebalancing"], 1800, poll=0.2)
        recovery = time.perf_counter() - began
        rss_recovered = second.rss_mb()
    finally:
        second.stop()
    return {"customers": customers, "customers_stored": stored, "events": len(lines), "partitions": partitions,
            "events_per_s": len(lines) / seconds, "rss_ready_mb": rss_ready, "rss_done_mb": rss_done,
            "changelog_records": changelog, "recovery_s": recovery, "rss_recovered_mb": rss_recovered}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares: (intercept, slope)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--customers", type=int, nargs="+", default=[20_000, 40_000, 80_000])
    parser.add_argument("--events-per-customer", type=float, default=2.0)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cxpulse-recovery-") as tmp:
        for customers in args.customers:
            row = one_scale(args.bootstrap, customers, args.events_per_customer, args.partitions, Path(tmp))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if len(rows) >= 2:
        stored = [r["customers_stored"] for r in rows]
        memory = fit(stored, [r["rss_recovered_mb"] for r in rows])
        recovery = fit(stored, [r["recovery_s"] for r in rows])
        print(json.dumps({"rss_mb": {"base": memory[0], "per_million_customers": memory[1] * 1e6},
                          "recovery_s": {"base": recovery[0], "per_million_customers": recovery[1] * 1e6}}))


if __name__ == "__main__":
    main()
