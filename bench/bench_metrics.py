"""What the worker's Prometheus metrics cost on its hot path, and what a scrape costs.

Runs ``ScoringProcessor.process`` (parse, engine step, outputs to a null sink) over
batches of ``--batch`` events from ``bench/bench_engine.py``'s generator, then
``WorkerMetrics.observe_batch`` on each batch's results, and times both separately
(one core, no Kafka; CPU time). Then renders ``/metrics`` (``generate_latest``) with every
customer of the run in the census and counts its series.

Usage::

    python bench/bench_metrics.py --events 200000 --customers 100000
"""

import argparse
import gc
import importlib.util
import time
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import generate_latest

from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.engine import Engine
from cxpulse.processors.worker.metrics import WorkerMetrics, worker_registry
from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor
from cxpulse.processors.worker.faustapp.writer import key_partition
from cxpulse.settings import MetricsSettings

HERE = Path(__file__).resolve().parent


class NullSink:
    def add(self, topic, key, value, partition=None) -> None:
        pass


def _generate(events: int, customers: int) -> list[bytes]:
    spec = importlib.util.spec_from_file_location("bench_engine", HERE / "bench_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(events, customers, seed=7)


def _messages(lines: list[bytes]) -> list[SimpleNamespace]:
    import orjson

    out = []
    for offset, line in enumerate(lines):
        key = orjson.loads(line)["customer_id"].encode()
        out.append(SimpleNamespace(key=key, value=line, topic="bench", partition=key_partition(key, 6),
                                   offset=offset, timestamp=time.time()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    messages = _messages(_generate(args.events, args.customers))
    engine = Engine()
    registry = worker_registry()
    metrics = WorkerMetrics(registry, MetricsSettings().service_types, engine.band, "bench")
    scoring = ScoringProcessor(engine, OutputTopics("a", "s", "d", "c", "l"), {}, SlaClock(), 86400 * 3650)
    process_s = observe_s = 0.0
    gc.collect()
    for start in range(0, len(messages), args.batch):
        batch = messages[start:start + args.batch]
        began = time.process_time()  # CPU time: the machine is shared, wall time would count the others
        stats = scoring.process(batch, NullSink(), NullSink(), "2025-01-01T00:00:00+00:00")
        middle = time.process_time()
        metrics.observe_batch(stats.observed, stats.invalid, stats.touched, middle - began, time.time())
        observe_s += time.process_time() - middle
        process_s += middle - began
    began = time.perf_counter()
    text = generate_latest(registry).decode()
    scrape_ms = (time.perf_counter() - began) * 1000
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    n = len(messages)
    print(f"events {n:,}, customers in the census {len(metrics.census):,}, batches of {args.batch}")
    print(f"process (parse + engine + outputs): {process_s / n * 1e6:.2f} us CPU/event")
    print(f"observe_batch (metrics):            {observe_s / n * 1e6:.2f} us CPU/event "
          f"({observe_s / process_s * 100:.1f}% of process)")
    print(f"/metrics render: {scrape_ms:.1f} ms, {len(text) / 1024:.1f} KiB, {len(families)} families "
          f"({sum(1 for f in families if f.startswith('cxpulse_'))} cxpulse_), {len(samples)} samples")


if __name__ == "__main__":
    main()
