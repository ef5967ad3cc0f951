"""Agent benchmark: contact start → agent warning latency, and the brief API's latency and throughput.

Needs a running broker (``cxpulse kafka up``, or ``--bootstrap HOST:PORT``). In one run:

1. **warnings**: a fresh topic set (6 partitions) and two ``cxpulse worker`` processes
   (one group); ``bench/bench_engine.py``'s events with a ``contact_started`` before each
   inbound call (sharing its ``contact_id``), produced at ``--rate`` events per second for
   ``--seconds``, after ``--warmup`` seconds of the same traffic whose latencies are reported
   apart (``warmup``: the workers' and the reader's first fetches, producers' first metadata
   of each output topic). Latency = when the warning was read back from ``cx.agent-warnings``
   minus when its start was sent (producer, broker, worker batch, broker, consumer: what a CTI
   integration sees). ``rebalances`` counts the group's rebalances during the run (from each
   worker's ``/metrics``): a rebalance stalls every partition for seconds.
2. **brief API**: once the workers hold those customers, ``--concurrency`` aiohttp clients
   ask the first worker for random customers' briefs for ``--api-seconds`` (about half are
   owned by the other worker and forwarded), then for batches of ``--batch`` ids.

It measures a shared, noisy machine when run there: read ``load average`` in the output.

Usage::

    python bench/bench_agent.py --bootstrap 127.0.0.1:19092 --rate 2000 --seconds 30
"""

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from cxpulse.settings import KafkaSettings, Settings, TopicSettings
from cxpulse.topics import ensure_topics, topic_specs

HERE = Path(__file__).resolve().parent
TOKEN = "bench-reader-" + "b" * 24


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _settings(bootstrap: str, run: str, workdir: Path, port: int) -> Settings:
    topics = TopicSettings(events=f"bench-{run}.events", alerts=f"bench-{run}.alerts", scores=f"bench-{run}.scores",
                           dlq=f"bench-{run}.dlq", warnings=f"bench-{run}.warnings", partitions=6)
    worker = {"app_id": f"bench-{run}", "web_port": port, "data_dir": str(workdir / f"{run}-{port}")}
    return Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap), topics=topics, worker=worker,
                    gateway={"tokens": [{"name": "bench", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                                         "scopes": ["read"]}]})


def _toml(settings: Settings) -> str:
    data = settings.model_dump(mode="json", include={"kafka", "topics", "worker"}, exclude_none=True)
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    token = settings.gateway.tokens[0]
    lines += ["[[gateway.tokens]]", f'name = "{token.name}"', f'sha256 = "{token.sha256}"', 'scopes = ["read"]']
    return "\n".join(lines) + "\n"


def with_starts(lines: list[bytes]) -> list[bytes]:
    """A ``contact_started`` before every inbound call, linked by ``contact_id``."""
    out = []
    for n, line in enumerate(lines):
        event = orjson.loads(line)
        if event["event_type"] == "call" and event["direction"] == "inbound":
            contact = f"K-{n:09d}"
            start = {key: event[key] for key in ("customer_id", "occurred_at", "channel", "service_type", "segment")}
            out.append(orjson.dumps({"event_id": f"{event['event_id']}-s", "event_type": "contact_started",
                                     **start, "contact_id": contact, "schema_version": 2}))
            event["contact_id"] = contact
            line = orjson.dumps(event)
        out.append(line)
    return out


async def _paced(settings: Settings, lines: list[bytes], rate: int, sent: dict[str, tuple[float, bool]],
                 warm: int, reading: asyncio.Event) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, linger_ms=0)
    await producer.start()
    await producer.client.force_metadata_update()  # the events topic's leaders known before the clock starts
    await reading.wait()
    try:
        start, per_tick = time.perf_counter(), max(1, round(rate * 0.01))
        for i in range(0, len(lines), per_tick):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for line in lines[i:i + per_tick]:
                event = orjson.loads(line)
                if event["event_type"] == "contact_started":
                    sent[event["event_id"]] = (time.time(), i < warm)
                await producer.send(settings.topics.events, line, key=event["customer_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _collect(settings: Settings, sent: dict[str, tuple[float, bool]], until: float,
                   out: list[tuple[float, float, bool]], reading: asyncio.Event) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        # Assigned and positioned before the first start is sent: the reader's own start-up
        # (metadata, offsets) must not count as the worker's latency.
        partitions = [TopicPartition(settings.topics.warnings, p) for p in range(settings.topics.partitions)]
        consumer.assign(partitions)
        for partition in partitions:
            await consumer.position(partition)
        reading.set()
        while time.time() < until:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batches.values():
                for record in records:
                    warning = orjson.loads(record.value)
                    started = sent.get(warning["event_id"])
                    if started is not None:
                        out.append((now - started[0], started[0], started[1]))
    finally:
        await consumer.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 1), "p90_ms": round(pick(0.9), 1), "p99_ms": round(pick(0.99), 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def bench_warnings(settings: Settings, lines: list[bytes], rate: int, warm: int = 0, dump: Path | None = None) -> dict:
    """``lines[:warm]`` are the warm-up: sent and read like the rest, reported apart; ``dump``:
    every warning's send time (seconds from the first) and latency (ms), one per line."""
    sent: dict[str, tuple[float, bool]] = {}
    latencies: list[tuple[float, float, bool]] = []

    async def run() -> None:
        until = time.time() + len(lines) / rate + 10
        reading = asyncio.Event()
        await asyncio.gather(_paced(settings, lines, rate, sent, warm, reading),
                             _collect(settings, sent, until, latencies, reading))

    began = time.time()
    asyncio.run(run())
    measured = [(lat, at) for lat, at, warming in latencies if not warming]
    starts = sum(1 for _, warming in sent.values() if not warming)
    result = {"rate": rate, "events": len(lines) - warm, "starts": starts, "warnings_read": len(measured),
              "seconds": round(time.time() - began, 1), **_quantiles([lat for lat, _ in measured])}
    warming = [lat for lat, _, w in latencies if w]
    if warming:
        result["warmup"] = {"events": warm, "starts": len(sent) - starts, "warnings_read": len(warming),
                            **_quantiles(warming)}
    first = min(at for _, at, _ in latencies)
    if dump is not None:
        dump.write_text("".join(f"{at - first:.4f} {lat * 1000:.1f}\n" for lat, at, _ in sorted(latencies, key=lambda x: x[1])))
    worst: dict[int, float] = {}
    for latency, at, _ in latencies:
        second = int(at - first) // 5 * 5
        worst[second] = max(worst.get(second, 0.0), latency)
    result["worst_ms_per_5s"] = {s: round(v * 1000) for s, v in sorted(worst.items())}
    return result


def _rebalances(port: int) -> float:
    """``cxpulse_faust_rebalances`` of the worker on ``port``."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("cxpulse_faust_rebalances"):
                return float(line.rsplit(" ", 1)[1])
    return float("nan")


async def _api(url: str, customers: list[str], seconds: float, concurrency: int, batch: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    rng = random.Random(5)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            if batch:
                ids = rng.sample(customers, batch)
                async with session.post(f"{url}/v1/customers/briefs", json={"customer_ids": ids}) as response:
                    await response.read()
            else:
                async with session.get(f"{url}/v1/customers/{rng.choice(customers)}/brief") as response:
                    await response.read()
            latencies.append(time.perf_counter() - began)
            statuses[response.status] = statuses.get(response.status, 0) + 1

    began = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "requests_per_s": round(len(latencies) / elapsed, 1),
            "briefs_per_s": round(len(latencies) * max(batch, 1) / elapsed, 1), "statuses": statuses,
            "concurrency": concurrency, "batch": batch, **_quantiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of traffic before the measured run (reported apart)")
    parser.add_argument("--dump", type=Path, help="write each warning's send time (s) and latency (ms) to this file")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=0, help="the first worker's web port (the second: +1); 0: free ones")
    parser.add_argument("--api-seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    bench_worker = _module("bench_worker")
    generate = _module("bench_engine").generate
    workdir = Path(tempfile.mkdtemp(prefix="cxpulse-bench-agent-"))
    results: dict = {"load_average_start": os.getloadavg()[0]}
    print(f"load average {results['load_average_start']:.2f} (2 cores shared)", flush=True)
    run = uuid.uuid4().hex[:8]
    ports = (args.port, args.port + 1) if args.port else (_free_port(), _free_port())
    settings = _settings(args.bootstrap, run, workdir, ports[0])
    second = _settings(args.bootstrap, run, workdir, ports[1])
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    bench_worker._toml = _toml  # the workers need the read token in their config
    total = args.rate * (args.seconds + args.warmup)
    lines = with_starts(generate(total, args.customers, 9))[:total]
    workers = []
    for index, worker_settings in enumerate((settings, second)):  # one directory each: the config is named by app id
        (workdir / str(index)).mkdir()
        workers.append(bench_worker.Worker(worker_settings, workdir / str(index)))
    try:
        for worker in workers:
            worker.wait(bench_worker._ready, 180)
        for worker in workers:  # the group has settled: each worker owns some of the 6 partitions
            worker.wait(lambda h: 0 < len(h.get("owned_partitions") or ()) < 6 and not h["rebalancing"], 180)
        before = [_rebalances(port) for port in ports]
        results["warnings"] = bench_warnings(settings, lines, args.rate, args.rate * args.warmup, args.dump)
        results["warnings"]["rebalances"] = sum(_rebalances(port) for port in ports) - sum(before)
        print("warnings", results["warnings"], flush=True)
        for worker in workers:
            worker.wait(lambda h: h["events"] > 0, 60)
        customers = sorted({orjson.loads(line)["customer_id"] for line in lines})
        url = f"http://127.0.0.1:{ports[0]}"
        results["brief_get"] = asyncio.run(_api(url, customers, args.api_seconds, args.concurrency, 0))
        print("brief GET", results["brief_get"], flush=True)
        results["brief_batch"] = asyncio.run(_api(url, customers, args.api_seconds, args.concurrency // 2, args.batch))
        print("brief batch", results["brief_batch"], flush=True)
    finally:
        for worker in workers:
            worker.stop()
    results["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
