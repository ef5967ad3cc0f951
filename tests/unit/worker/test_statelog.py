"""A busy customer's state as a base and an operation log (statelog.py) against the whole-state worker.

Two real ScoringProcessors read the same batches: one writes every state whole (deltas off),
the other writes big states as deltas. Their alerts, snapshots and states must be equal after
random streams, with rebases, cache misses (the live cache dropped) and restarts (a new
processor over the store, as a recovered table).
"""

import random
import zlib
from datetime import datetime

import orjson
import pytest

from cxpulse.processors.engine import CustomerState, Engine
from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor
from cxpulse.processors.worker.statelog import (Delta, apply_ops, delta_key, delta_record, event_op, is_delta_key,
                                               parse_delta, sla_op, stored_state, wants_rebase)

from .conftest import HOUR, Events, ListSink, faust_message

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")
CUSTOMERS = ["C-1", "C-2", "C-3"]


def _processor(store, min_bytes, cache_size):
    return ScoringProcessor(Engine(), TOPICS, store, SlaClock(), 86400.0, cache_size, delta_min_bytes=min_bytes)


def _stream(seed: int, count: int) -> list[dict]:
    """A random stream: calls, complaints, feedback, tickets with due times (some breach by the clock)."""
    rng, events = random.Random(seed), Events()
    out, t = [], 0.0
    for i in range(count):
        t += rng.choice((30.0, 60.0, 600.0, 1800.0))
        customer = rng.choice(CUSTOMERS[:1] * 4 + CUSTOMERS)  # C-1 is busy
        svc = rng.choice(("billing", "repair", "outage"))
        kind = rng.random()
        if kind < 0.55:
            out.append(events.call(t, customer=customer, service_type=svc,
                                   outcome=rng.choice(("unresolved", "callback", "resolved")),
                                   complaint=rng.random() < 0.2))
        elif kind < 0.7:
            out.append(events.feedback(t, rng.randint(1, 5), customer=customer, service_type=svc))
        elif kind < 0.85:
            out.append(events.ticket(t, f"T-{i}", customer=customer, service_type=svc, due=t + rng.choice((600, 3 * HOUR))))
        else:
            out.append(events.start(t, f"K-{i}", customer=customer, service_type=svc))
        if rng.random() < 0.05 and out:
            out.append(dict(out[rng.randrange(len(out))]))  # a duplicate event (same id)
    return out


def _messages(stream, first=0):
    return [faust_message("cx.events", 0, first + i, e["customer_id"].encode(), orjson.dumps(e),
                          datetime.fromisoformat(e["occurred_at"]).timestamp() + 1.0) for i, e in enumerate(stream)]


def _run(processor, messages):
    effects, state = ListSink(), ListSink()
    stats = processor.process(messages, effects, state, "2025-03-03T09:00:00+00:00")
    return stats, effects.records, state.records


def _states(store, engine):
    return {key: stored_state(engine, store, key)[0] for key in store if not is_delta_key(key)}


@pytest.mark.parametrize("seed", range(6))
def test_deltas_give_the_whole_state_workers_states_and_output(seed):
    rng = random.Random(1000 + seed)
    messages = _messages(_stream(seed, 400))
    whole_store: dict[bytes, bytes] = {}
    delta_store: dict[bytes, bytes] = {}
    cache = rng.choice((0, 2, 50))
    whole, delta = _processor(whole_store, 0, cache), _processor(delta_store, 600, cache)
    totals = {"deltas": 0, "rebased": 0}
    whole_bytes = delta_bytes = 0
    at = 0
    while at < len(messages):
        size = rng.choice((1, 1, 2, 5, 20))
        batch = messages[at:at + size]
        at += size
        _, whole_effects, whole_state = _run(whole, batch)
        stats, effects, state = _run(delta, batch)
        totals["deltas"] += stats.deltas
        totals["rebased"] += stats.rebased
        assert effects == whole_effects  # alerts, contacts, dead letters, marks
        assert [r for r in state if r[0] == "scores"] == [r for r in whole_state if r[0] == "scores"]
        whole_bytes += sum(len(r[2]) for r in whole_state if r[0] == "changelog")
        delta_bytes += sum(len(r[2]) for r in state if r[0] == "changelog")
        # the store is what the (compacted) changelog holds: the last record of each key
        compacted: dict[bytes, bytes] = dict(delta_store)
        for topic, key, value, _ in state:
            if topic == "changelog":
                assert compacted[key] == value
        assert _states(delta_store, delta.engine) == _states(whole_store, whole.engine)
        roll = rng.random()
        if roll < 0.1:
            delta._cache.clear()  # a cache miss for everyone
            delta._deltas.clear()
        elif roll < 0.15:  # a restart: the tables recovered from the changelog, the same batches read on
            delta = _processor(dict(delta_store), 600, cache)
            delta_store = delta.store  # type: ignore[assignment]
            whole = _processor(dict(whole_store), 0, cache)
            whole_store = whole.store  # type: ignore[assignment]
            for processor in (whole, delta):  # as the recovery rebuilds the clocks (runtime.py)
                processor.clock.rebuild([(s, 0) for s in _states(processor.store, processor.engine).values()], {0})
    assert totals["deltas"] > 0 and totals["rebased"] > 0  # both paths were taken
    assert delta_bytes < whole_bytes
    for key, state in _states(delta_store, delta.engine).items():
        assert state.source == _states(whole_store, whole.engine)[key].source  # the redelivery check's position


def test_records_read_again_after_a_restart_mid_delta_are_applied_once():
    stream = [e for e in _stream(7, 300)]
    messages = _messages(stream)
    straight = _processor({}, 0, 0)
    straight_effects = []
    for i in range(0, len(messages), 3):
        straight_effects += _run(straight, messages[i:i + 3])[1]
    first = _processor({}, 600, 10)
    effects = []
    for i in range(0, 200, 3):
        effects += _run(first, messages[i:min(i + 3, 200)])[1]
    assert any(is_delta_key(k) for k in first.store)  # stopped mid-delta
    # a restart whose offsets were committed up to 150: records 150..199 are read again
    restarted = _processor(dict(first.store), 600, 10)
    restarted.clock.rebuild([(s, 0) for s in _states(restarted.store, restarted.engine).values()], {0})
    redelivered = 0
    for i in range(150, len(messages), 3):
        stats, batch_effects, _ = _run(restarted, messages[i:i + 3])
        redelivered += stats.redelivered
        effects += batch_effects
    assert redelivered == 50

    def written(records):
        return [r for r in records if r[1] is not None]

    assert written(effects) == written(straight_effects)
    assert _states(restarted.store, restarted.engine) == _states(straight.store, straight.engine)


def test_small_states_are_written_whole_byte_for_byte():
    messages = _messages(_stream(3, 40))
    outputs = []
    for min_bytes in (0, 1 << 20):
        processor = _processor({}, min_bytes, 10)
        seen = [_run(processor, messages[i:i + 2]) for i in range(0, len(messages), 2)]
        outputs.append(([s[1:] for s in seen], processor.store))
    assert outputs[0] == outputs[1]


def test_a_stale_delta_is_ignored_and_a_delta_applies_whatever_the_setting():
    engine = Engine()
    events = Events()
    processor = _processor({}, 200, 0)
    stream = [events.call(i * 60.0, outcome="unresolved") for i in range(12)]
    for message in _messages(stream):
        _run(processor, [message])
    store = processor.store
    assert delta_key(b"C-1") in store
    state, delta = stored_state(engine, store, b"C-1", None, 200)
    assert delta is not None and delta.ops
    assert stored_state(engine, store, b"C-1")[0] == state  # deltas off now: still applied
    stale = dict(store)
    stale[delta_key(b"C-1")] = delta_record(Delta(delta.base_crc ^ 1, delta.base_len, delta.ops))
    assert stored_state(engine, stale, b"C-1")[0] == CustomerState.from_bytes(store[b"C-1"])


def test_the_codec_and_the_rebase_rule():
    value = orjson.dumps(Events().call(0.0))
    ops = [event_op(2, 41, value), sla_op(1.7e9)]
    assert sla_op(float("inf")) is None
    crc, parsed = parse_delta(delta_record(Delta(123, 9, ops)))
    assert (crc, parsed) == (123, ops)
    state = apply_ops(Engine(), Engine().new_state("C-1"), ops[:1])
    assert state.source == (2, 41) and state.events_seen == 1
    # one event of e bytes per batch: rebased after about sqrt(2 base / e) of them
    assert not wants_rebase(25_000, 12, 12 * 300) and wants_rebase(25_000, 13, 13 * 300)
    with pytest.raises(ValueError):
        parse_delta(b"[9,1,[]]")


class _HalfFailingEngine:
    """The real engine, made to raise on some event ids after it changed the state (the worst case:
    a live object changed by an event that is not in the operation log)."""

    def __init__(self) -> None:
        self._engine = Engine()

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def step(self, state, event):
        result = self._engine.step(state, event)
        if event.event_id.endswith("7"):
            raise RuntimeError("injected failure")
        return result


@pytest.mark.parametrize("cache", [0, 50])
def test_a_record_that_fails_mid_delta_leaves_the_whole_state_workers_states(cache):
    rng = random.Random(5)
    messages = _messages(_stream(11, 300))
    whole = ScoringProcessor(_HalfFailingEngine(), TOPICS, {}, SlaClock(), 86400.0, cache)  # type: ignore[arg-type]
    delta = ScoringProcessor(_HalfFailingEngine(), TOPICS, {}, SlaClock(), 86400.0, cache,  # type: ignore[arg-type]
                             delta_min_bytes=600)
    at, failed, deltas = 0, 0, 0
    while at < len(messages):
        batch = messages[at:at + rng.choice((1, 3, 8))]
        at += len(batch)
        whole_stats, whole_effects, whole_state = _run(whole, batch)
        stats, effects, state = _run(delta, batch)
        failed, deltas = failed + stats.failed, deltas + stats.deltas
        assert (effects, stats.failed) == (whole_effects, whole_stats.failed)
        assert [r for r in state if r[0] == "scores"] == [r for r in whole_state if r[0] == "scores"]
        assert _states(delta.store, Engine()) == _states(whole.store, Engine())
    assert failed > 5 and deltas > 0


def test_a_whole_write_over_a_live_delta_is_a_rebase_even_when_the_processor_forgot_the_delta():
    # A rebase's batch is confirmed before the next batch (runtime.py): a later delta must not
    # overwrite the old one while the new base may still be lost.
    events = Events()
    processor = _processor({}, 200, 10)
    messages = _messages([events.call(i * 60.0, outcome="unresolved") for i in range(30)])
    at = 0
    while not _run(processor, [messages[at]])[0].deltas:  # until the latest write is a delta with operations
        at += 1
    base_crc, ops = parse_delta(processor.store[delta_key(b"C-1")])
    assert ops and base_crc == zlib.crc32(processor.store[b"C-1"])  # the live delta
    processor._deltas.clear()  # as an eviction from the cache during save leaves it (the object stays cached)
    stats, _, state = _run(processor, [messages[at + 1]])
    assert (stats.deltas, stats.rebased) == (0, 1)
    assert [r[1] for r in state if r[0] == "changelog"] == [b"C-1"]
