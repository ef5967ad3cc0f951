"""Memory and state size (issue 11): bytes per tracked customer, and changelog bytes per event.

On the engine benchmark's stream (``bench_engine.generate``: calls, ticket lifecycles,
surveys, late events, an outage burst), measured with ``tracemalloc`` while the events are
decoded (``decode_event``) and fed line by line, so the strings a state keeps are counted
and the transient events are not:

- ``objects``: ``EngineDriver`` as ``cxpulse replay`` runs it, every customer a live
  ``CustomerState`` (plus the SLA index, clocks and incident states);
- ``bytes``: the same states held only as ``to_bytes()`` (exact-size ``bytes``, as the
  worker's table does): what 100,000 idle customers cost;
- ``bytes+cache``: the cheap change tried here: customers not stepped recently kept as
  bytes, the ``--cache`` most recently stepped as objects (the worker's ``state_cache``
  design, through the replay's own ``Orchestrator``); with its CPU cost per event against
  ``objects`` (timed without tracemalloc).

Then the serialised sizes (mean, p50, p99, max; the bound of docs/rules.md, "Limits"), and
for one busy customer (``--busy-events`` events over a week on one customer) the bytes of
changelog per event: the engine's states written whole (one record per event), then through the
worker's own ``ScoringProcessor`` one event per batch, its states whole (``state_delta_min_bytes
= 0``) and as a base and its operation log (``worker.state_delta_min_bytes``; ``statelog.py``).

Usage::

    python bench/bench_memory.py --customers 110000 --events 600000 --cache 20000 10000 0
"""

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import generate  # noqa: E402  (the engine benchmark's stream)

from cxpulse.processors.engine import CustomerState, Engine, EngineDriver, EngineSettings  # noqa: E402
from cxpulse.processors.engine.incident import IncidentEngine  # noqa: E402
from cxpulse.processors.engine.limits import state_bounds  # noqa: E402
from cxpulse.processors.engine.orchestration import InlineIncidents, Orchestrator  # noqa: E402
from cxpulse.processors.replay.run import fewer_collections  # noqa: E402
from cxpulse.processors.worker.settings import WorkerSettings  # noqa: E402
from cxpulse.schemas import decode_event  # noqa: E402

RECORD_FRAMING = 70  # a one-record Kafka batch: 61 bytes of batch header, ~9 of record header


def _compact(data: bytes) -> bytes:
    return memoryview(data).tobytes()  # orjson's result sits in a 4 KiB buffer otherwise


class BytesStore:
    """Customer states as exact-size bytes, the ``cache`` most recently stepped ones as objects."""

    def __init__(self, cache: int) -> None:
        self.cache = cache
        self.stored: dict[str, bytes] = {}
        self.live: OrderedDict[str, CustomerState] = OrderedDict()
        self.decoded = self.encoded = 0

    def load(self, customer_id: str, partition: Hashable) -> CustomerState | None:
        state = self.live.get(customer_id)
        if state is not None:
            self.live.move_to_end(customer_id)
            return state
        data = self.stored.get(customer_id)
        if data is None:
            return None
        self.decoded += 1
        return CustomerState.from_bytes(data)

    def save(self, customer_id: str, state: CustomerState, partition: Hashable) -> None:
        live = self.live
        live[customer_id] = state
        live.move_to_end(customer_id)
        if len(live) > self.cache:
            old_id, old = live.popitem(last=False)
            self.stored[old_id] = _compact(old.to_bytes())
            self.encoded += 1

    def customers(self) -> int:
        return len(self.stored.keys() | self.live.keys())


def _feed_driver(lines: list[bytes]) -> EngineDriver:
    driver = EngineDriver(keep_alerts=False)
    for line in lines:
        driver.feed(decode_event(line))
    return driver


def _feed_store(lines: list[bytes], store: BytesStore) -> Orchestrator:
    settings = EngineSettings()
    core = Orchestrator(Engine(settings), store, InlineIncidents(IncidentEngine(settings)))
    breaches, raised = core.breaches, core.raised
    for line in lines:
        core.step(decode_event(line), None, None, None)
        breaches.clear()  # as EngineDriver does after each event: the alerts are not kept
        raised.clear()
    return core


def _as_bytes(states: list[CustomerState]) -> dict[str, bytes]:
    return {s.customer_id: _compact(s.to_bytes()) for s in states}


def _traced(build: Callable[[], object]) -> tuple[object, int]:
    """``build()`` and the bytes it still holds (tracemalloc) once it returned."""
    gc.collect()
    tracemalloc.start()
    try:
        built = build()
        gc.collect()
        return built, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def _cpu(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    with fewer_collections():
        fn()
    return time.process_time() - start


def _sizes(sizes: list[int]) -> str:
    ordered = sorted(sizes)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (f"mean {statistics.fmean(ordered):,.0f}, p50 {p(0.5):,}, p99 {p(0.99):,}, max {ordered[-1]:,} bytes")


def _busy(events: int, seed: int) -> None:
    """One customer, ``events`` events over a week: the changelog bytes its states take per event."""
    lines = generate(events, 1, seed)
    engine, state = Engine(), None
    written, inputs = [], []
    for line in lines:
        event = decode_event(line)
        state = engine.step(state, event).state
        written.append(len(state.to_bytes()) + len(event.customer_id) + RECORD_FRAMING)
        inputs.append(len(line))
    steady = written[len(written) // 10:]  # after the first tenth: windows and rings filled
    bound = state_bounds(EngineSettings()).customer.total
    print(f"busy customer: {len(lines):,} events in a week ({len(lines) / 7:,.0f}/day), "
          f"input {statistics.fmean(inputs):,.0f} bytes/event")
    print(f"  changelog per event, one record per event (state + key + {RECORD_FRAMING} framing): "
          f"{statistics.fmean(written):,.0f} mean, {statistics.fmean(steady):,.0f} after the first tenth, "
          f"max {max(written):,}; {statistics.fmean(steady) / statistics.fmean(inputs):.1f}x the input; "
          f"bound {bound:,}")
    assert state is not None
    print(f"  its last state: {len(state.seen_ids)} ids, {sum(map(len, state.contacts.values()))} contacts in "
          f"{len(state.contacts)} windows, {len(state.tickets)} open / {len(state.closed)} closed tickets, "
          f"{len(state.cooldowns)} cooldowns, {len(state.recent)} recent alerts")
    whole = None
    delta = WorkerSettings().state_delta_min_bytes
    for min_bytes, cache in ((0, 5_000), (delta, 5_000), (0, 0), (delta, 0)):
        per_event, cpu, last, stats = _busy_worker(lines, min_bytes, cache)
        if whole is None:
            whole = last
        assert last == whole  # the same state, whole or as a base and its delta
        how = "whole states" if not min_bytes else f"deltas from {min_bytes:,} bytes"
        print(f"  the worker's ScoringProcessor, one event per batch, {how}, state_cache {cache:,}: "
              f"{statistics.fmean(per_event[len(per_event) // 10:]):,.0f} bytes of changelog per event after "
              f"the first tenth (max {max(per_event):,}); {stats[0]:,} deltas, {stats[1]:,} rebases; "
              f"{cpu * 1e6 / len(lines):,.0f} µs/event")


class _Record:
    """A ``cx.events`` record as the worker's processor reads it (faust's ``Message`` fields it uses)."""

    __slots__ = ("key", "value", "topic", "partition", "offset", "timestamp")

    def __init__(self, key: bytes, value: bytes, offset: int, timestamp: float) -> None:
        self.key, self.value, self.topic, self.partition, self.offset, self.timestamp = (
            key, value, "cx.events", 0, offset, timestamp)


class _Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    def add(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> None:
        self.records.append((topic, key, value))


def _busy_worker(lines: list[bytes], min_bytes: int, cache: int) -> tuple[list[int], float, object, tuple[int, int]]:
    """The busy customer through the worker's own ``ScoringProcessor``, one event per batch: the changelog
    bytes each batch writes (key + value + framing), the CPU time, the stored state at the end."""
    from cxpulse.processors.worker.clock import SlaClock
    from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor
    from cxpulse.processors.worker.statelog import stored_state

    topics = OutputTopics(alerts="a", scores="s", dlq="d", contacts="c", changelog="log")
    store: dict[bytes, bytes] = {}
    engine = Engine()
    processor = ScoringProcessor(engine, topics, store, SlaClock(), 86400.0, cache, delta_min_bytes=min_bytes)
    records = []
    for offset, line in enumerate(lines):
        event = decode_event(line)
        records.append(_Record(event.customer_id.encode(), line, offset, event.occurred_at.timestamp() + 1.0))
    written, deltas, rebases = [], 0, 0
    started = time.process_time()
    for record in records:
        effects, state = _Sink(), _Sink()
        stats = processor.process([record], effects, state, "2025-01-01T00:00:00+00:00")
        deltas, rebases = deltas + stats.deltas, rebases + stats.rebased
        written.append(sum(len(k or b"") + len(v or b"") + RECORD_FRAMING for t, k, v in state.records if t == "log"))
    cpu = time.process_time() - started
    key = records[-1].key
    read = stored_state(engine, store, key)
    assert read is not None
    return written, cpu, read[0], (deltas, rebases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--customers", type=int, default=110_000)
    parser.add_argument("--cache", type=int, nargs="+", default=[20_000, 0],
                        help="objects kept by bytes+cache (worker.state_cache); several: one run each")
    parser.add_argument("--busy-events", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    lines = generate(args.events, args.customers, args.seed)
    n = len(lines)
    print(f"{n:,} events over {args.customers:,} customer ids, {sum(map(len, lines)) / n:.0f} bytes/event; "
          f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")

    driver, held = _traced(lambda: _feed_driver(lines))
    assert isinstance(driver, EngineDriver)
    states = list(driver.states.values())
    customers = len(states)
    print(f"objects      {held / customers:>7,.0f} bytes/customer ({customers:,} customers, {held / 2**20:,.0f} MiB)")
    sizes = [len(s.to_bytes()) for s in states]
    _, as_bytes = _traced(partial(_as_bytes, states))
    print(f"bytes        {as_bytes / customers:>7,.0f} bytes/customer (the states alone, as exact-size bytes)")
    driver = states = None  # type: ignore[assignment]  # freed before the next runs

    print(f"serialised   {_sizes(sizes)}; bound {state_bounds(EngineSettings()).customer.total:,}")
    objects_cpu = _cpu(lambda: _feed_driver(lines))
    print(f"CPU          objects {objects_cpu * 1e6 / n:.2f} µs/event")
    for cache in args.cache:
        store = BytesStore(cache)
        _, hybrid = _traced(partial(_feed_store, lines, store))
        hybrid_cpu = _cpu(partial(_feed_store, lines, BytesStore(cache)))
        print(f"bytes+cache  {hybrid / store.customers():>7,.0f} bytes/customer with {cache:,} live "
              f"({store.decoded / n:.2f} decodes, {store.encoded / n:.2f} encodes per event; "
              f"{hybrid_cpu * 1e6 / n:.2f} µs/event, {(hybrid_cpu / objects_cpu - 1) * 100:+.0f} % CPU)")
    _busy(args.busy_events, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
