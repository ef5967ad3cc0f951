"""Soak: a steady stream through one worker for at least ten minutes; memory flat, lag bounded.

Opt-in only (``make soak``, marker ``soak``; ``make test`` leaves it out). An aiokafka
producer (in a thread of the test process) sends ``SOAK_RATE`` events per second (default
2,000) for ``SOAK_SECONDS`` (default: the warm-up and 11 minutes more, 16 minutes) from a
fixed population of ``SOAK_CUSTOMERS`` (default 500) over three service types, with event
times on the wall clock, as a live contact centre would.

The population is small and busy on purpose. Each customer's state is bounded (64 event
ids, at most 64 contacts and 64 grievances per service type, open tickets, recent alerts)
but fills only as fast as the customer contacts us: with 5,000 customers at this rate the
windows were still filling after 11 minutes (RSS grew by 0.35 MB/s, the pure engine's
states by the same shape), so growth could not be told from a leak. Here every window is
full after about 4 minutes of traffic (the engine alone, same stream: 192 contacts and
192 grievances per customer by minute 4), the warm-up (``SOAK_WARM_UP_SECONDS``, 300)
ends after that, and any growth of the worker's memory from then on is a leak. It is also
the heaviest case per event: every event rewrites a full state (about 15 KB of JSON).

Every ``SOAK_SAMPLE_SECONDS`` (5) the test samples the worker's RSS and CPU time (/proc)
and the consumer group's lag on the events topic (end offsets minus committed offsets,
read from the broker). Asserted: the producer kept the rate; RSS at the end is within
``RSS_GROWTH_BOUND`` of RSS at the end of the warm-up; the lag after the first minute stays under
``LAG_BOUND_SECONDS`` of traffic and the worker commits everything within a minute of the
producer stopping: it keeps up, though on a busy machine it falls behind for a while and
catches up with larger batches. The samples go to ``SOAK_REPORT`` (JSON, default in the test's
temporary directory) and a summary is printed (run with ``-s``).
"""

import asyncio
import json
import os
import random
import threading
import time
from pathlib import Path

import orjson
import pytest

from cxpulse.settings import KafkaSettings

from ..worker.helpers import lagging
from .conftest import wait_consumed

pytestmark = [pytest.mark.soak, pytest.mark.timeout(3600)]

RATE = float(os.environ.get("SOAK_RATE", "2000"))
WARM_UP_SECONDS = float(os.environ.get("SOAK_WARM_UP_SECONDS", "300"))  # memory is compared from here to the end
SECONDS = float(os.environ.get("SOAK_SECONDS", str(WARM_UP_SECONDS + 660)))
CUSTOMERS = int(os.environ.get("SOAK_CUSTOMERS", "500"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "5"))
RSS_GROWTH_BOUND = 0.10  # at most 10 % more RSS at the end than after the warm-up
LAG_BOUND_SECONDS = 30.0  # lag never above 30 s worth of traffic after the first minute (a shared 2-core machine)
SERVICES = ["billing", "repair", "installation"]


def _event(rng: random.Random, n: int, now: float) -> tuple[bytes, bytes]:
    """One event at wall-clock time ``now``: calls, tickets (some due within minutes), feedback."""
    customer = f"soak-{rng.randrange(CUSTOMERS):05d}"
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}+00:00"
    event = {"event_id": f"s-{n}", "customer_id": customer, "occurred_at": at, "channel": rng.choice(["phone", "web"]),
             "service_type": rng.choice(SERVICES)}
    roll = rng.random()
    if roll < 0.55:
        event.update(event_type="call", direction="inbound", wait_seconds=rng.randrange(600),
                     talk_seconds=rng.randrange(900), outcome=rng.choice(["resolved", "resolved", "unresolved",
                                                                           "transferred", "abandoned"]),
                     is_complaint=rng.random() < 0.3)
    elif roll < 0.8:
        due = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + rng.choice([120, 600, 86400])))
        event.update(event_type="ticket", ticket_id=f"t-{rng.randrange(4)}", due_at=due,
                     action=rng.choice(["opened", "opened", "updated", "resolved", "closed"]))
    else:
        event.update(event_type="feedback", survey="csat", score=rng.randint(1, 5))
    return customer.encode(), orjson.dumps(event)


class SteadyProducer(threading.Thread):
    """aiokafka at a fixed rate, in 10 ms ticks; counts what the broker acknowledged."""

    def __init__(self, kafka: KafkaSettings, topic: str, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.kafka, self.topic, self.rate, self.seconds = kafka, topic, rate, seconds
        self.sent = self.acked = 0
        self.error: BaseException | None = None
        self.elapsed = 0.0

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _run(self) -> None:
        from aiokafka import AIOKafkaProducer

        from cxpulse.clients import aiokafka_config

        producer = AIOKafkaProducer(**aiokafka_config(self.kafka), acks="all", linger_ms=5)
        await producer.start()
        rng, pending = random.Random(7), []
        try:
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < self.seconds:
                due = int(elapsed * self.rate) - self.sent
                for _ in range(due):
                    key, value = _event(rng, self.sent, time.time())
                    pending.append(await producer.send(self.topic, value, key=key))
                    self.sent += 1
                pending = await self._settle(pending)
                await asyncio.sleep(0.01)  # the tick that paces the rate
            await producer.flush()
            await self._settle(pending, wait=True)
            self.elapsed = time.monotonic() - started
        finally:
            await producer.stop()

    async def _settle(self, pending: list, wait: bool = False) -> list:
        if wait and pending:
            await asyncio.gather(*pending)
        done = [f for f in pending if f.done()]
        for future in done:
            future.result()  # a failed delivery raises
        self.acked += len(done)
        return [f for f in pending if not f.done()]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lag(settings) -> int:
    behind = lagging(settings, [settings.topics.events])
    return sum(end - (committed or 0) for committed, end in behind.values() if end)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_soak_steady_rate_memory_flat_lag_bounded(settings_factory, worker_factory, wait_for, tmp_path):
    settings = settings_factory(partitions=6)
    worker = worker_factory(settings)
    pid = worker.process.pid
    producer = SteadyProducer(settings.kafka, settings.topics.events, RATE, SECONDS)
    samples: list[dict] = []
    started, cpu0 = time.monotonic(), _cpu_seconds(pid)
    producer.start()
    while producer.is_alive():
        time.sleep(SAMPLE_SECONDS)  # the sampling period of a measurement, not a wait for a condition
        health = worker.health() or {}
        samples.append({"t": round(time.monotonic() - started, 1), "rss_mb": round(_rss_mb(pid), 1),
                        "cpu_s": round(_cpu_seconds(pid) - cpu0, 2), "lag": _lag(settings),
                        "sent": producer.sent, "processed": health.get("events"),
                        "customers": health.get("customers_stored"), "load1": os.getloadavg()[0]})
    assert producer.error is None, producer.error
    wait_consumed(wait_for, settings, timeout=60, workers=[worker])
    drained = time.monotonic() - started - producer.elapsed

    report = _report(samples, producer, drained)
    Path(os.environ.get("SOAK_REPORT", tmp_path / "soak.json")).write_text(json.dumps(
        {"summary": report, "samples": samples}, indent=1))
    print("\nsoak:", json.dumps(report, indent=1))
    assert producer.acked == producer.sent and producer.sent >= 0.95 * RATE * SECONDS, "the producer fell behind"
    assert report["rss_growth_after_warm_up"] <= RSS_GROWTH_BOUND, report
    assert report["lag_max_after_first_minute"] <= LAG_BOUND_SECONDS * RATE, report
    assert worker.health()["events"] == producer.sent


def _report(samples: list[dict], producer: SteadyProducer, drained: float) -> dict:
    steady = [s for s in samples if s["t"] >= 60]
    warm = min((s for s in samples if s["t"] >= WARM_UP_SECONDS), key=lambda s: s["t"])
    last = samples[-1]
    lags = [s["lag"] for s in steady]
    cpu_rate = (last["cpu_s"] - warm["cpu_s"]) / (last["t"] - warm["t"])
    return {
        "rate_target": RATE, "seconds": round(producer.elapsed, 1), "events": producer.sent,
        "rate_achieved": round(producer.sent / producer.elapsed, 1), "customers": CUSTOMERS,
        "rss_mb_at_1min": next(s["rss_mb"] for s in samples if s["t"] >= 60), "rss_mb_after_warm_up": warm["rss_mb"], "warm_up_seconds": WARM_UP_SECONDS,
        "rss_mb_end": last["rss_mb"], "rss_mb_max": max(s["rss_mb"] for s in samples),
        "rss_growth_after_warm_up": round(last["rss_mb"] / warm["rss_mb"] - 1, 4),
        "lag_max_after_first_minute": max(lags), "lag_p99_after_first_minute": _percentile(lags, 0.99),
        "lag_median_after_first_minute": _percentile(lags, 0.5),
        "worker_cpu_share_of_a_core": round(cpu_rate, 3), "worker_cpu_us_per_event": round(cpu_rate / RATE * 1e6, 1),
        "load_average_median": round(_percentile([s["load1"] for s in samples], 0.5), 2),
        "drained_seconds_after_producer_stopped": round(drained, 1),
    }
