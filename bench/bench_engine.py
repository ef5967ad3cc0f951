"""Engine benchmark: parse + EngineDriver.feed from a JSONL archive on one core.

Generates a realistic stream (calls, ticket lifecycles with due times, surveys; a few
complaints, VIPs, late events and one outage burst), writes it as JSONL, then times:

- ``parse``: ``parse_event`` of every line (pydantic validation);
- ``engine``: ``EngineDriver.feed`` of the parsed events (customer steps, SLA clock, incidents);
- ``total``: both, line by line, as ``cxpulse replay`` runs an archive;
- ``total/gc``: the same with the cyclic GC tuned (``gc.freeze()``, threshold 100,000);
- ``decode``, ``total/fast``: the same with ``decode_event`` (the hot-path msgspec decoder the
  worker and the replay use) instead of ``parse_event``; the alerts are checked identical.

It also reports the memory the driver holds per customer (tracemalloc) and the size of
the serialised states, and with ``--profile`` the top functions of a ``total`` run.

Usage::

    python bench/bench_engine.py --events 200000 --customers 50000 --profile
"""

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from cxpulse.processors.engine import EngineDriver
from cxpulse.processors.replay.run import fewer_collections
from cxpulse.schemas import decode_event, parse_event

START = datetime(2025, 3, 3, tzinfo=timezone.utc)
SERVICES = ["billing", "outage", "repair", "installation", "account"]
CHANNELS = ["phone", "web", "app", "email", "chat"]


def _iso(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def generate(n: int, customers: int, seed: int, days: float = 7.0) -> list[bytes]:
    """``n`` JSON lines over ``customers`` customers in ``days`` of event time.

    Built from episodes, as contacts happen: a call (sometimes followed by a survey), a
    ticket's lifecycle (opened with a due time; mostly resolved before it), a survey on
    its own; plus one outage burst. About 1% of events arrive up to 15 minutes late.
    """
    rng = random.Random(seed)
    span = days * 86400
    frequent = range(0, customers, 10)  # one customer in ten contacts about five times as often
    segments = rng.choices(["standard", "vip", "key", "vulnerable"], [85, 5, 5, 5], k=customers)
    timed: list[tuple[float, int, dict]] = []
    outage_at = span * 0.6
    for cust in rng.choices(range(customers), k=n // 20):  # 5% of events: the outage burst
        timed.append((outage_at + rng.uniform(0, 1800), cust, _call(rng, "outage", inbound=True)))
    while len(timed) < n:
        cust = rng.choice(frequent) if rng.random() < 1 / 3 else rng.randrange(customers)
        _episode(rng, cust, rng.uniform(0, span), timed)
    timed = sorted((e for e in timed if e[0] < span), key=lambda e: e[0])[:n]
    lines = []
    for i, (t, cust, record) in enumerate(timed):
        if rng.random() < 0.01:
            t -= rng.uniform(0, 900)  # arrives up to 15 min late
        record.update(event_id=f"ev-{seed}-{i:09d}", customer_id=f"C-{cust:07d}", occurred_at=_iso(t),
                      channel=rng.choice(CHANNELS), segment=segments[cust])
        lines.append(orjson.dumps(record))
    return lines


def _episode(rng: random.Random, cust: int, t: float, out: list) -> None:
    svc = rng.choice(SERVICES)
    kind = rng.random()
    if kind < 0.5:
        out.append((t, cust, _call(rng, svc)))
        if rng.random() < 0.3:
            out.append((t + rng.uniform(600, 7200), cust, _survey(rng, svc)))
    elif kind < 0.8:
        _lifecycle(rng, cust, svc, t, out)
    else:
        out.append((t, cust, _survey(rng, svc)))


def _survey(rng: random.Random, svc: str) -> dict:
    survey = rng.choice(["csat", "csat", "nps", "ces", "comment"])
    record = {"event_type": "feedback", "service_type": svc, "survey": survey}
    if survey == "comment":
        record["comment"] = "the engineer was friendly but the fault came back"
    else:
        low, high = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[survey]
        record["score"] = rng.choices(range(low, high + 1), [1] * (high - low) + [3 * (high - low)])[0]
    if rng.random() < 0.02:
        record["is_complaint"] = True
    return record


def _call(rng: random.Random, svc: str, inbound: bool = False) -> dict:
    record = {
        "event_type": "call", "service_type": svc,
        "direction": "inbound" if inbound or rng.random() < 0.8 else "outbound",
        "wait_seconds": round(rng.expovariate(1 / 90), 1), "talk_seconds": round(rng.uniform(30, 900), 1),
        "outcome": rng.choices(["resolved", "unresolved", "transferred", "escalated", "abandoned", "callback"],
                               [60, 10, 12, 3, 8, 7])[0],
        "agent_id": f"A-{rng.randrange(400):03d}",
    }
    if rng.random() < 0.03:
        record["is_complaint"] = True
    if rng.random() < 0.5:
        record["sentiment"] = round(rng.uniform(-1, 1), 2)
    return record


def _lifecycle(rng: random.Random, cust: int, svc: str, t: float, out: list) -> None:
    tid = f"T-{cust}-{rng.randrange(10**9)}"
    hours = rng.choice([4, 24, 48, 72])
    due = t + hours * 3600
    complaint = rng.random() < 0.05
    base = {"event_type": "ticket", "service_type": svc, "ticket_id": tid}
    out.append((t, cust, {**base, "action": "opened", "due_at": _iso(due), "is_complaint": complaint,
                          "priority": rng.choices(["low", "normal", "high", "urgent"], [20, 60, 15, 5])[0]}))
    done = t + hours * 3600 * (rng.uniform(0.1, 0.95) if rng.random() < 0.9 else rng.uniform(1.05, 2.0))
    if rng.random() < 0.3:
        out.append((rng.uniform(t, done), cust, {**base, "action": "updated", "priority": "high"}))
    if rng.random() < 0.08:
        out.append((rng.uniform(t, done), cust, {**base, "action": "escalated"}))
    out.append((done, cust, {**base, "action": rng.choice(["resolved", "resolved", "closed"])}))
    if rng.random() < 0.04:
        out.append((done + rng.uniform(3600, 86400), cust, {**base, "action": "reopened", "due_at": _iso(due + 86400)}))


def timed(label: str, fn, n: int) -> tuple[float, float]:
    """Run ``fn`` and print events/s by wall clock and by this process's CPU time.

    CPU time is the steadier figure on a shared machine: it leaves out time spent waiting
    for a core (but not the slowdown of sharing caches with other processes).
    """
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<8} {n / elapsed:>10,.0f} events/s wall ({elapsed * 1e6 / n:6.2f} µs/event)   "
          f"{n / used:>10,.0f} events/s CPU ({used * 1e6 / n:6.2f} µs/event)")
    return elapsed, used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--archive", type=Path, help="reuse or write this JSONL file")
    parser.add_argument("--generate-only", action="store_true", help="write the archive and stop")
    parser.add_argument("--profile", action="store_true", help="print the top functions (cProfile) of a total run")
    args = parser.parse_args(argv)

    path = args.archive or Path(tempfile.gettempdir()) / f"cxpulse-engine-bench-{args.events}-{args.customers}-{args.seed}.jsonl"
    if not path.exists():
        path.write_bytes(b"\n".join(generate(args.events, args.customers, args.seed)) + b"\n")
    raw = path.read_bytes().splitlines()
    if args.generate_only:
        print(f"wrote {len(raw):,} events")
        return 0
    n = len(raw)
    print(f"{n:,} events, {args.customers:,} customers, {path.stat().st_size / n:.0f} bytes/event; "
          f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")

    events: list = []
    timed("parse", lambda: events.extend(parse_event(line) for line in raw), n)
    # The parsed events are frozen out of the cyclic GC, so the engine line is charged for
    # collecting its own objects only, as in a streaming replay (the "total" line).
    gc.freeze()
    driver = EngineDriver(keep_alerts=False)
    timed("engine", lambda: [driver.feed(e) for e in events], n)
    driver = None
    gc.unfreeze()
    alerts = _count_alerts(events)
    _report_state_size(events)
    events.clear()

    def total(parse=parse_event) -> None:
        d = EngineDriver(keep_alerts=False)
        with path.open("rb") as fh:
            for line in fh:
                d.feed(parse(line))
        d.finish()

    timed("total", total, n)
    # The same with the cyclic GC tuned as a long replay would (collections are mostly
    # wasted work here: engine state has no reference cycles).
    with fewer_collections():
        timed("total/gc", total, n)
    decoded: list = []
    timed("decode", lambda: decoded.extend(decode_event(line) for line in raw), n)
    if _alerts(decoded) != _alerts(raw_events := [parse_event(line) for line in raw]):
        raise SystemExit("decode_event gives other alerts than parse_event")
    del raw_events
    decoded.clear()
    with fewer_collections():
        timed("total/fast", lambda: total(decode_event), n)
    print(f"alerts: {alerts}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(total)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(22)
        print(out.getvalue())
    return 0


def _report_state_size(events: list) -> None:
    """Memory held by the driver (states, SLA index, incident states) per customer."""
    gc.collect()
    tracemalloc.start()
    driver = EngineDriver(keep_alerts=False)
    for event in events:
        driver.feed(event)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    states = driver.states.values()
    stored = sum(len(s.to_bytes()) for s in states) / len(states)
    print(f"state: {len(states):,} customers, {held / len(states):,.0f} bytes/customer in memory "
          f"({held / 2**20:.0f} MiB), {stored:,.0f} bytes/customer serialised")


def _alerts(events: list) -> list:
    """Every alert of the stream, as JSON (to compare two decoders' runs)."""
    driver = EngineDriver()
    for event in events:
        driver.feed(event)
    driver.finish()
    return [alert.model_dump_json() for alert in driver.alerts]


def _count_alerts(events: list) -> dict[str, int]:
    driver = EngineDriver()
    for event in events:
        driver.feed(event)
    driver.finish()
    counts: dict[str, int] = {}
    for alert in driver.alerts:
        key = f"{alert.rule}/{alert.status}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    raise SystemExit(main())
