"""Ingest gateway throughput: events/s accepted, and per core of the gateway process.

    python bench/bench_gateway.py [--seconds 15] [--bootstrap HOST:PORT]

Runs ``cxpulse ingest serve`` as its own process (rate limit off, default settings
otherwise: acks=all, idempotent producer, waiting for every acknowledgement) and a
load generator in another process (aiohttp client, keep-alive connections, a fixed
number of requests in flight). Cases: one event per request, and 100 per request.

Reported per case: requests/s, events/s accepted (every one acknowledged by Kafka),
latency percentiles, and events per CPU-second of the gateway process (utime + stime
from /proc while the case ran) -- "per core", since the broker and the load
generator share the same two cores. Without ``--bootstrap`` a local broker is started
on free ports in a temporary directory and stopped at the end.
"""

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _event(n: int, run: str) -> dict:
    return {
        "event_id": f"{run}-{n}", "event_type": "call", "customer_id": f"cust-b-{n % 20000:06d}",
        "occurred_at": "2025-03-14T10:00:00Z", "channel": "phone", "service_type": "billing",
        "direction": "inbound", "wait_seconds": 30.0, "talk_seconds": 240.0, "outcome": "resolved",
    }  # fmt: skip


# --- the load generator (a separate process) ----------------------------------------


async def _load(port: int, token: str, batch: int, seconds: float, concurrency: int, run: str) -> dict:
    import aiohttp

    url = f"http://127.0.0.1:{port}/v1/events"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counter = iter(range(10**12))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = 0
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while time.perf_counter() < deadline:
            items = [_event(next(counter), run) for _ in range(batch)]
            body = orjson.dumps(items[0] if batch == 1 else items)
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
            latencies.append(time.perf_counter() - began)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status == 202:
                accepted += orjson.loads(answer)["accepted"]

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"elapsed": elapsed, "requests": len(latencies), "accepted": accepted, "statuses": statuses,
            "p50_ms": pick(0.50), "p99_ms": pick(0.99)}  # fmt: skip


def load_generator(args: argparse.Namespace) -> None:
    result = asyncio.run(_load(args.port, args.token, args.batch, args.seconds, args.concurrency, args.run))
    print(json.dumps(result))


# --- the driver ---------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_gateway(bootstrap: str, topic: str, workdir: Path) -> tuple[subprocess.Popen, int, str]:
    token, port = secrets.token_urlsafe(32), _free_port()
    config = workdir / "gateway.toml"
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\nclient_id = "cxpulse-bench"\n\n[topics]\nevents = "{topic}"\n\n'
        f"[gateway]\nport = {port}\nrate_limit_events_per_second = 0\n"
    )
    env = {**os.environ, "CXPULSE_GATEWAY__TOKENS": json.dumps([{"name": "bench", "token": token}])}
    cxpulse = Path(sys.executable).with_name("cxpulse")
    process = subprocess.Popen([str(cxpulse), "--config", str(config), "ingest", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _wait_healthy(port, process)
    return process, port, token


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the gateway exited during start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the gateway did not become healthy")


def _case(gateway: subprocess.Popen, port: int, token: str, batch: int, concurrency: int, seconds: float) -> dict:
    command = [sys.executable, __file__, "--load-generator", "--port", str(port), "--token", token,
               "--batch", str(batch), "--concurrency", str(concurrency), "--run", uuid.uuid4().hex[:8]]  # fmt: skip
    subprocess.run([*command, "--seconds", "2"], check=True, capture_output=True)  # warm-up
    cpu_before = _cpu_seconds(gateway.pid)
    done = subprocess.run([*command, "--seconds", str(seconds)], check=True, capture_output=True, text=True)
    cpu = _cpu_seconds(gateway.pid) - cpu_before
    result = json.loads(done.stdout)
    result.update(batch=batch, concurrency=concurrency, gateway_cpu_seconds=cpu)
    return result


def _report(result: dict) -> str:
    events_s = result["accepted"] / result["elapsed"]
    per_core = result["accepted"] / result["gateway_cpu_seconds"] if result["gateway_cpu_seconds"] else float("nan")
    return (f"| {result['batch']} | {result['concurrency']} | {result['requests'] / result['elapsed']:,.0f} | "
            f"{events_s:,.0f} | {per_core:,.0f} | {result['gateway_cpu_seconds'] / result['elapsed']:.2f} | "
            f"{result['p50_ms']:.1f} / {result['p99_ms']:.1f} | {result['statuses']} |")  # fmt: skip


def main(args: argparse.Namespace) -> None:
    from cxpulse.settings import KafkaSettings
    from cxpulse.topics import TopicSpec, ensure_topics

    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-gateway-") as tmp:
        workdir = Path(tmp)
        broker, bootstrap = _broker(args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), workdir)
        try:
            topic = f"bench-gateway-{uuid.uuid4().hex[:8]}"
            ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), [TopicSpec(topic, 6, 1, {})])
            gateway, port, token = _start_gateway(bootstrap, topic, workdir)
            try:
                load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
                print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}; {args.seconds:g} s per case")
                print("| events/request | in flight | requests/s | events/s accepted | events per gateway CPU-second | gateway CPU (cores) | latency p50 / p99 ms | statuses |")
                print("|---|---|---|---|---|---|---|---|")
                for batch, concurrency in ((1, 32), (1, 128), (100, 8)):
                    print(_report(_case(gateway, port, token, batch, concurrency, args.seconds)), flush=True)
            finally:
                gateway.send_signal(signal.SIGTERM)
                gateway.wait(60)
        finally:
            if broker is not None:
                broker.stop()


def _broker(bootstrap: str | None, workdir: Path):
    if bootstrap:
        return None, bootstrap
    from cxpulse.broker import LocalBroker
    from cxpulse.settings import load_settings

    settings = load_settings().broker.model_copy(
        update={"port": _free_port(), "controller_port": _free_port(), "data_dir": workdir / "kafka"}
    )
    local = LocalBroker(settings)
    return local, local.start().bootstrap_servers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of each case.")
    parser.add_argument("--bootstrap", help="Use this broker instead of starting one.")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=16, help=argparse.SUPPRESS)
    parser.add_argument("--run", default="r", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    load_generator(parsed) if parsed.load_generator else main(parsed)
