"""Worker benchmark: the faust worker against a plain aiokafka loop driving the same engine.

Needs a running broker (``cxpulse kafka up``, or ``--bootstrap HOST:PORT``). In one run:

1. generates ``--events`` JSON events (~280 bytes) over ``--customers`` customers with
   ``bench/bench_engine.py``'s generator, and loads them into a fresh topic (6 partitions);
2. **reference**: an ``AIOKafkaConsumer.getmany`` loop that decodes (``decode_event``, the
   worker's own decoder) and steps every event with :class:`Engine` (states in a dict, no
   output) — the ceiling for this engine;
3. **worker**: ``cxpulse worker`` (a subprocess, all rules on, changelog, outputs) on the
   same events; events/s from its first to its last batch, CPU time and RSS from /proc;
4. **quix**: the Quix Streams peer (``bench/quix_peer.py``, a subprocess): the same engine in a
   Quix Streams app with its RocksDB state and changelog, alerts and one score snapshot per
   event; events/s and CPU time from its first to its last record (needs the ``bench`` extra:
   ``EXTRAS=test,bench scripts/bootstrap.sh``);
5. **latency**: a fresh worker and topic, events produced at ``--rate`` per second for
   ``--seconds``; produce→alert latency = when the alert was read back minus when its
   triggering event was sent (alerts whose ``triggered_at`` is that event's time; alerts
   raised by the stream clock — SLA breaches and the churn they cause — and incidents are
   left out).

Usage::

    python bench/bench_worker.py --events 200000 --customers 100000
    python bench/bench_worker.py --no-direct              # records through faust's streams
    python bench/bench_worker.py --no-fast-drain          # faust's stock consumer loop too
    python bench/bench_worker.py --skip latency           # the throughput ratios only
"""

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import orjson

from cxpulse.processors.engine import Engine
from cxpulse.schemas import decode_event
from cxpulse.settings import KafkaSettings, Settings, TopicSettings
from cxpulse.topics import ensure_topics, topic_specs

HERE = Path(__file__).resolve().parent


def _generator():
    spec = importlib.util.spec_from_file_location("bench_engine", HERE / "bench_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def _settings(bootstrap: str, run: str, workdir: Path, port: int, fast_drain: bool,
              within: float | None = None, direct: bool = True, batch_max: int | None = None,
              state_cache: int | None = None, delta_min_bytes: int | None = None) -> Settings:
    topics = TopicSettings(events=f"bench-{run}.events", alerts=f"bench-{run}.alerts", scores=f"bench-{run}.scores",
                           dlq=f"bench-{run}.dlq", partitions=6)
    worker = {"app_id": f"bench-{run}", "web_port": port, "data_dir": str(workdir / run), "fast_drain": fast_drain,
              "direct_delivery": direct}
    if within is not None:
        worker["batch_within_seconds"] = within
    if batch_max is not None:
        worker["batch_max"] = batch_max
    if state_cache is not None:
        worker["state_cache"] = state_cache
    if delta_min_bytes is not None:
        worker["state_delta_min_bytes"] = delta_min_bytes
    return Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap), topics=topics, worker=worker)


async def _load(settings: Settings, lines: list[bytes]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    try:
        for line in lines:
            await producer.send(settings.topics.events, line, key=orjson.loads(line)["customer_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _reference(settings: Settings, total: int) -> dict:
    """Plain getmany loop: the worker's decoder (``decode_event``) + Engine.step per record, states in a dict."""
    from aiokafka import AIOKafkaConsumer

    engine, states, alerts = Engine(settings.engine), {}, 0
    consumer = AIOKafkaConsumer(settings.topics.events, bootstrap_servers=settings.kafka.bootstrap_servers,
                                group_id=f"ref-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest",
                                max_poll_records=5000, fetch_max_bytes=16 * 1024 * 1024)
    await consumer.start()
    seen, started, cpu0 = 0, None, None
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if started is None and batches:
                started, cpu0 = time.perf_counter(), time.process_time()
            for records in batches.values():
                for record in records:
                    event = decode_event(record.value, now=record.timestamp / 1000)
                    result = engine.step(states.get(event.customer_id), event)
                    states[event.customer_id] = result.state
                    alerts += len(result.alerts)
                seen += len(records)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        await consumer.stop()
    return {"events": seen, "seconds": elapsed, "events_per_s": seen / elapsed, "cpu_us_per_event": cpu / seen * 1e6,
            "alerts": alerts}


class Worker:
    """``cxpulse worker`` as a subprocess with /proc accounting."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        config = workdir / f"{settings.worker.app_id}.toml"
        config.write_text(_toml(settings), encoding="utf-8")
        self.settings = settings
        self.log = (workdir / f"{settings.worker.app_id}.log").open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))}
        self.process = subprocess.Popen([sys.executable, "-c", "from cxpulse.cli import main; main()", "--config",
                                         str(config), "worker", "--loglevel", "warning"],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def health(self) -> dict | None:
        if self.process.poll() is not None:
            raise SystemExit(f"worker exited with {self.process.returncode}; see {self.log.name}")
        try:
            url = f"http://127.0.0.1:{self.settings.worker.web_port}/healthz"
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            return None

    def wait(self, predicate, timeout: float, poll: float = 0.05) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if health and predicate(health):
                return health
            time.sleep(poll)  # polling a subprocess, not synchronising a test
        raise SystemExit(f"worker did not get there within {timeout:g} s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


def _toml(settings: Settings) -> str:
    data = settings.model_dump(mode="json", include={"kafka", "topics", "worker"}, exclude_none=True)
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _ready(health: dict) -> bool:
    return health["assigned_partitions"] > 0 and not health["rebalancing"]


def bench_throughput(settings: Settings, workdir: Path, total: int, customers: int) -> dict:
    worker = Worker(settings, workdir)
    try:
        worker.wait(_ready, 120)
        rss_ready = worker.rss_mb()
        first = worker.wait(lambda h: h["events"] > 0, 120, poll=0.01)
        started, cpu0, events0 = time.perf_counter(), worker.cpu_seconds(), first["events"]
        worker.wait(lambda h: h["events"] >= total, 900, poll=0.05)
        elapsed, cpu = time.perf_counter() - started, worker.cpu_seconds() - cpu0
        rss_done = worker.rss_mb()
    finally:
        worker.stop()
    done = total - events0
    records, written = _changelog_bytes(settings)
    return {"events": total, "seconds": elapsed, "events_per_s": done / elapsed, "cpu_us_per_event": cpu / done * 1e6,
            "rss_ready_mb": rss_ready, "rss_done_mb": rss_done, "customers": customers,
            "rss_mb_per_100k_customers": (rss_done - rss_ready) / customers * 100_000,
            "changelog_records": records, "changelog_bytes_per_event": written / total}


def _changelog_bytes(settings: Settings) -> tuple[int, int]:
    """Records and bytes (keys and values) the run wrote to the customers' changelog."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5000, max_partition_fetch_bytes=16 << 20)
    try:
        topic = f"{settings.worker.app_id}-customer_to_state-changelog"
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        end = sum(consumer.end_offsets(partitions).values())
        records = written = 0
        for record in consumer:
            records += 1
            written += len(record.key or b"") + len(record.value or b"")
            if records >= end:
                break
        return records, written
    finally:
        consumer.close()


def bench_quix(settings: Settings, workdir: Path, total: int) -> dict:
    """The Quix Streams peer on the same topic (its own consumer group and state directory)."""
    run = uuid.uuid4().hex[:8]
    topics = settings.topics
    config = {"bootstrap": settings.kafka.bootstrap_servers, "group": f"quix-{run}", "total": total,
              "state_dir": str(workdir / f"quix-{run}"), "events": topics.events, "alerts": topics.alerts,
              "scores": topics.scores, "dlq": topics.dlq}
    path = workdir / f"quix-{run}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    log = workdir / f"quix-{run}.log"
    with log.open("wb") as err:
        done = subprocess.run([sys.executable, str(HERE / "quix_peer.py"), str(path)], stdout=subprocess.PIPE,
                              stderr=err, timeout=1800, check=False)
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the Quix peer failed ({done.returncode}); see {log}")
    return json.loads(lines[-1])


async def _paced(settings: Settings, lines: list[bytes], rate: int, sent: dict[str, float],
                 reading: asyncio.Event) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, linger_ms=0)
    await producer.start()
    await producer.client.force_metadata_update()  # the events topic's leaders known before the clock starts
    await reading.wait()
    try:
        start, tick = time.perf_counter(), 0.01
        per_tick = max(1, round(rate * tick))
        for i in range(0, len(lines), per_tick):
            delay = start + (i / rate) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for line in lines[i:i + per_tick]:
                event = orjson.loads(line)
                sent[event["event_id"]] = (time.time(), datetime.fromisoformat(event["occurred_at"]))
                await producer.send(settings.topics.events, line, key=event["customer_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _collect_alerts(settings: Settings, sent: dict[str, float], until: float, out: list[float],
                         reading: asyncio.Event) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        # Assigned and positioned before the first event is sent: the reader's own start-up
        # (metadata, offsets) must not count as the worker's latency.
        partitions = [TopicPartition(settings.topics.alerts, p) for p in range(settings.topics.partitions)]
        consumer.assign(partitions)
        for partition in partitions:
            await consumer.position(partition)
        reading.set()
        while time.time() < until:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batches.values():
                for record in records:
                    alert = orjson.loads(record.value)
                    trigger = _trigger(alert, sent)
                    if trigger is not None:
                        emitted = datetime.fromisoformat(alert["emitted_at"]).timestamp()
                        out.append((now - trigger, trigger, emitted - trigger))
    finally:
        await consumer.stop()


def _trigger(alert: dict, sent: dict[str, tuple[float, datetime]]) -> float | None:
    """When the event that raised ``alert`` was sent; ``None`` for alerts raised by the stream
    clock (SLA breaches and what they cause) or by the incident agent."""
    if alert["rule"] in ("sla_breach", "incident"):
        return None
    known = [sent[e] for e in alert["evidence"] if e in sent]
    if not known:
        return None
    at, occurred = max(known)
    return at if datetime.fromisoformat(alert["triggered_at"]) == occurred else None


def bench_latency(settings: Settings, workdir: Path, lines: list[bytes], rate: int) -> dict:
    worker = Worker(settings, workdir)
    try:
        worker.wait(_ready, 120)
        sent: dict[str, float] = {}
        latencies: list[float] = []

        async def run() -> None:
            until = time.time() + len(lines) / rate + 5
            reading = asyncio.Event()
            await asyncio.gather(_paced(settings, lines, rate, sent, reading),
                                 _collect_alerts(settings, sent, until, latencies, reading))

        asyncio.run(run())
    finally:
        worker.stop()
    first = min(at for _, at, _ in latencies)
    by_second: dict[int, float] = {}
    emitted = sorted(e for _, _, e in latencies)
    for latency, at, _ in latencies:  # where in the run the slowest alerts were triggered
        by_second[int(at - first)] = max(by_second.get(int(at - first), 0.0), latency)
    ordered = sorted(latency for latency, _, _ in latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"rate": rate, "events": len(lines), "alerts_measured": len(ordered),
            "p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": ordered[-1] * 1000,
            "emitted_p50_ms": emitted[len(emitted) // 2] * 1000, "emitted_p99_ms": emitted[int(0.99 * len(emitted))] * 1000,
            "worst_ms_by_second": {s: round(v * 1000) for s, v in sorted(by_second.items())}}


def _ratios(results: dict) -> None:
    """worker / reference, worker / Quix, Quix / reference: events/s of runs on the same topic."""
    for top, bottom in (("worker", "reference"), ("worker", "quix"), ("quix", "reference")):
        if top in results and bottom in results:
            ratio = results[top]["events_per_s"] / results[bottom]["events_per_s"]
            cpu = results[bottom]["cpu_us_per_event"] / results[top]["cpu_us_per_event"]
            results[f"{top}/{bottom}"] = {"events_per_s": round(ratio, 3), "cpu_per_event": round(cpu, 3)}
            print(f"{top} / {bottom} = {ratio:.2f} (events/s), {cpu:.2f} (inverse CPU per event)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--port", type=int, default=6166)
    parser.add_argument("--no-fast-drain", dest="fast_drain", action="store_false")
    parser.add_argument("--no-direct", dest="direct", action="store_false", help="worker.direct_delivery = false")
    parser.add_argument("--within", type=float, default=None, help="worker.batch_within_seconds (default: the setting's)")
    parser.add_argument("--batch-max", type=int, default=None, help="worker.batch_max (default: the setting's)")
    parser.add_argument("--state-cache", type=int, default=None,
                        help="worker.state_cache, states kept decoded (default: the setting's)")
    parser.add_argument("--state-delta-min-bytes", type=int, default=None,
                        help="worker.state_delta_min_bytes, 0: states always whole (default: the setting's)")
    parser.add_argument("--skip", choices=["reference", "throughput", "quix", "latency"], action="append", default=[])
    args = parser.parse_args()

    generate = _generator()
    workdir = Path(tempfile.mkdtemp(prefix="cxpulse-bench-"))
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)", flush=True)
    lines = generate(args.events, args.customers, 7)
    print(f"{len(lines)} events, {sum(map(len, lines)) / len(lines):.0f} bytes each on average", flush=True)
    results: dict = {"load_average_start": os.getloadavg()[0]}
    run = uuid.uuid4().hex[:8]
    settings = _settings(args.bootstrap, run, workdir, args.port, args.fast_drain, args.within, args.direct, args.batch_max,
                         args.state_cache, args.state_delta_min_bytes)
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    asyncio.run(_load(settings, lines))
    if "reference" not in args.skip:
        results["reference"] = asyncio.run(_reference(settings, len(lines)))
        print("reference", results["reference"], flush=True)
    if "throughput" not in args.skip:
        tracked = len({orjson.loads(line)["customer_id"] for line in lines})  # customers with state
        results["worker"] = bench_throughput(settings, workdir, len(lines), tracked)
        print("worker", results["worker"], flush=True)
    if "quix" not in args.skip:
        results["quix"] = bench_quix(settings, workdir, len(lines))
        print("quix", results["quix"], flush=True)
    _ratios(results)
    if "latency" not in args.skip:
        latency_settings = _settings(args.bootstrap, uuid.uuid4().hex[:8], workdir, args.port + 1, args.fast_drain,
                                     args.within, args.direct, args.batch_max, args.state_cache,
                                     args.state_delta_min_bytes)
        ensure_topics(latency_settings.kafka, topic_specs(latency_settings.topics))
        paced = generate(args.rate * args.seconds, args.customers, 8)
        results["latency"] = bench_latency(latency_settings, workdir, paced, args.rate)
        print("latency", results["latency"], flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
