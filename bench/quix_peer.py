"""The Quix Streams peer of ``cxpulse worker``: the same engine in a Quix Streams app.

Run by ``bench/bench_worker.py`` as a subprocess (it needs the ``bench`` extra; see
docs/benchmarks.md, "Worker"). What a user who picked Quix Streams instead of the faust
worker would write, doing at least the writes the issue asks of it:

- each record of the events topic is judged by the worker's own rule
  (:func:`~cxpulse.processors.validation.validate_record`: ``parse_event`` with the record
  time as "now", key check); invalid ones go to the dead-letter topic with the reason;
- the customer's state is Quix's per-key RocksDB state, with its changelog topic, holding
  ``CustomerState.to_bytes()`` (decoded with ``CustomerState.from_bytes`` for every event);
- ``Engine.step``; every alert goes to the alerts topic (the worker's ``alert_record``) and
  one score snapshot per event to the scores topic (the worker's ``snapshot_record``);
- at-least-once processing, Quix's default commit interval.

It does not do what the worker does beyond that (SLA sweeps at the partition clocks,
incidents, metrics, the read API), so the comparison favours it.

Usage (by bench_worker.py): ``python bench/quix_peer.py CONFIG.json``, where the JSON names
the broker, topics, consumer group, state directory and how many records to read; it prints
one JSON line with its timings when it has processed them all, then stops.
"""

import json
import sys
import time
from typing import Any

import orjson
from cxpulse.processors.engine import CustomerState, Engine, EngineSettings
from cxpulse.processors.validation import validate_record
from cxpulse.processors.worker.records import alert_record, now_rfc3339, snapshot_record
from cxpulse.schemas import dead_letter, dead_letter_json
from quixstreams import Application
from quixstreams.models import Serializer
from quixstreams.state.rocksdb import RocksDBOptions

STATE_KEY = "state"


class _Value(Serializer):
    """The output rows are ``(topic, key, value)``: the value is the third."""

    def __call__(self, value: Any, ctx: Any) -> bytes:
        return value[2]


def _dumps(value: Any) -> bytes:
    # Quix serialises state keys with the same function: the key "state" as JSON, values as they are.
    return value if type(value) is bytes else orjson.dumps(value)


def _loads(value: bytes) -> bytes:
    return value


def build(config: dict) -> tuple[Application, dict]:
    """The Quix application and its progress counters."""
    app = Application(
        broker_address=config["bootstrap"], consumer_group=config["group"], auto_offset_reset="earliest",
        state_dir=config["state_dir"], use_changelog_topics=True, processing_guarantee="at-least-once",
        # State values are the worker's own bytes, stored as they are (not as JSON).
        rocksdb_options=RocksDBOptions(dumps=_dumps, loads=_loads), loglevel="WARNING",
    )
    events = app.topic(config["events"], key_deserializer="bytes", value_deserializer="bytes")
    outputs = {name: app.topic(config[name], key_serializer="bytes", value_serializer=_Value())
               for name in ("alerts", "scores", "dlq")}
    engine = Engine(EngineSettings())
    max_future = float(config.get("max_future_seconds", 86400.0))
    progress = {"seen": 0, "total": int(config["total"]), "started": None, "cpu0": None, "alerts": 0}

    def step(value: bytes, key: bytes, timestamp: int, headers: Any, state: Any) -> list[tuple[str, bytes, bytes]]:
        if progress["started"] is None:
            progress["started"], progress["cpu0"] = time.perf_counter(), time.process_time()
        progress["seen"] += 1
        event = validate_record(key, value, timestamp / 1000.0, max_future, fast=True)
        if isinstance(event, str):
            letter = dead_letter(event, value, source_topic=config["events"], partition=None, offset=None, key=key)
            return [("dlq", key, dead_letter_json(letter))]
        raw = state.get(STATE_KEY)
        result = engine.step(None if raw is None else CustomerState.from_bytes(raw), event)
        if result.duplicate:
            return []
        state.set(STATE_KEY, result.state.to_bytes())
        emitted = now_rfc3339() if result.alerts else ""
        rows = [("alerts", *alert_record(alert, emitted)) for alert in result.alerts]
        progress["alerts"] += len(rows)
        rows.append(("scores", key, snapshot_record(engine, result.state)))
        return rows

    def finished(value: Any) -> Any:
        if progress["seen"] >= progress["total"] and "done" not in progress:
            progress["done"], progress["cpu"] = time.perf_counter(), time.process_time()
            app.stop()
        return value

    sdf = app.dataframe(events)
    sdf = sdf.apply(step, stateful=True, metadata=True, expand=True)
    sdf = sdf.to_topic(lambda value, key, timestamp, headers: outputs[value[0]], key=lambda value: value[1])
    sdf.update(finished)
    return app, progress


def main(path: str) -> int:
    with open(path, encoding="utf-8") as file:
        config = json.load(file)
    app, progress = build(config)
    app.run()
    if "done" not in progress:
        print(json.dumps({"error": f"stopped after {progress['seen']} of {progress['total']} records"}), flush=True)
        return 1
    seen = progress["seen"]
    elapsed = progress["done"] - progress["started"]
    cpu = progress["cpu"] - progress["cpu0"]
    print(json.dumps({"events": seen, "seconds": elapsed, "events_per_s": seen / elapsed,
                      "cpu_us_per_event": cpu / seen * 1e6, "alerts": progress["alerts"]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
