"""Incident detection across a rebalance: a contacts partition that moves away and comes back.

A worker keeps, per contacts partition, the marks it read (partition clocks, idle claims,
the partition count, the overall clock), the watermark it last decided and decoded states.
Once a rebalance took a contacts partition away, all of that is stale: another worker reads
the partition meanwhile, the partitions of ``cx.events`` move between scoring workers, an idle
one becomes busy again. When the partition comes back (or another worker takes it), its
incidents must be decided from the recovered state and fresh marks only, as a worker that
never held it would decide them.

The app is the worker's own (``create_app``) under faust's ``test_context``; the rebalance
is faust's own signals (``on_partitions_revoked``, ``on_partitions_assigned``) sent as
faust's consumer sends them; records are faust ``Message`` objects.
"""

from math import inf
from typing import Any

from faust.types import TP
from faust.types.tuples import Message

from cxpulse.processors.engine import EngineSettings, IncidentEngine
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.engine.state import NEVER
from cxpulse.processors.worker.faustapp.writer import key_partition
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.records import contact_record, mark_record

from ..conftest import T0, ListSink, faust_message
from .test_agents import PARTITIONS, agent_app_factory, alerts_by_customer, engine_alerts_by_customer, processed, run

__all__ = ["agent_app_factory"]  # the fixture, used here by name

START = T0.timestamp()
OUTAGE = key_partition(b"outage", PARTITIONS)  # the contacts partition the outage's contacts go to
OTHER = 1 - OUTAGE


def _burst() -> tuple[list[Contact], list[Contact]]:
    """An outage: 24 customers behind ``cx.events`` partition 0, and 3 who called earlier behind partition 1
    (the third of them completes the window: 25 distinct customers)."""
    busy = [Contact("outage", f"A-{i:02d}", START + 600 + 10 * i, f"a-{i}") for i in range(24)]
    late = [Contact("outage", f"B-{i}", START + 300 + 10 * i, f"b-{i}") for i in range(3)]
    return busy, late


def _expected(contacts: list[Contact]) -> list[Any]:
    engine, state, alerts = IncidentEngine(EngineSettings(**_ENGINE)), None, []
    for contact in contacts:
        state, found = engine.add(state, contact)
        alerts += found
    return alerts + engine.advance(state, inf)


_ENGINE = {"partition_idle_seconds": 10 * 86400.0}


def _revoke_then_assign(app: Any, contacts_topic: str, events_topic: str, contacts: set[int]) -> Any:
    """One eager rebalance: every partition revoked, then ``contacts`` (and every events partition) assigned."""
    async def rebalance() -> None:
        everything = {TP(t, p) for t in (contacts_topic, events_topic) for p in range(PARTITIONS)}
        app.on_rebalance_start()
        await app.on_partitions_revoked.send(everything)  # positional, as faust sends it
        assigned = {TP(contacts_topic, p) for p in contacts} | {TP(events_topic, p) for p in range(PARTITIONS)}
        await app.on_partitions_assigned.send(assigned)
        app.on_rebalance_end()

    return rebalance()


def test_a_contacts_partition_that_comes_back_is_decided_from_fresh_marks_only(agent_app_factory):
    """A stale idle claim must not decide the outage's window before the contacts of that partition are read.

    Before the rebalance this worker read a mark that said partition 1 of ``cx.events`` was
    idle. Partition 1 is busy again when the contacts partition comes back: its scoring worker
    has not written its contacts and mark yet, while partition 0's worker already marked
    past the burst. With the stale idle claim the watermark was partition 0's clock: the
    window was decided with 24 customers, and partition 1's three earlier callers, read next,
    were too late to count, so the outage was never raised. From fresh marks it waits for
    partition 1's mark and raises what the engine raises.
    """
    busy, late = _burst()

    async def scenario() -> Any:
        worker = agent_app_factory(**_ENGINE)
        app, topic, events_topic = worker.app, worker.contacts_topic, worker.settings.topics.events
        async with worker.agent("detect_incidents").test_context() as agent:
            before = mark_record({0: START + 100, 1: inf}, PARTITIONS, START + 100)  # partition 1 idle then
            await processed(agent, [await worker.put(agent, before, None, partition=OUTAGE)])
            await _revoke_then_assign(app, topic, events_topic, {OTHER})  # another worker takes it...
            await _revoke_then_assign(app, topic, events_topic, {OUTAGE, OTHER})  # ...and it comes back
            sent = []
            for contacts, source in ((busy, 0), (late, 1)):  # each source partition's contacts, then its mark
                for key, value in map(contact_record, contacts):
                    sent.append(await worker.put(agent, value, key, partition=OUTAGE))
                mark = mark_record({source: START + 2000}, PARTITIONS)
                sent.append(await worker.put(agent, mark, None, partition=OUTAGE))
            await processed(agent, sent)
        return worker

    worker = run(scenario)
    raised = worker.producer.on(worker.settings.topics.alerts)
    expected = _expected(busy + late)
    assert expected and all(a.rule == "incident" for a in expected)
    assert alerts_by_customer(raised) == engine_alerts_by_customer(expected)
    assert {"b-0", "b-1", "b-2"} <= set(expected[0].evidence)  # the early callers are its evidence


def _message(partition: int, offset: int, value: bytes, key: bytes | None = None) -> Message:
    return faust_message("contacts", partition, offset, key, value)


def _contacts(partition: int, contacts: list[Contact], offset: int) -> list[Message]:
    return [_message(partition, offset + n, value, key) for n, (key, value) in
            enumerate(contact_record(c) for c in contacts)]


def _processor(store: dict) -> IncidentProcessor:
    return IncidentProcessor(IncidentEngine(EngineSettings(**_ENGINE)), store, "alerts", "changelog", PARTITIONS)


def _process(processor: IncidentProcessor, messages: list[Message]) -> tuple[list, list]:
    raised: list = []
    state = ListSink()
    processor.process(messages, ListSink(), state, "2025-03-03T09:00:00+00:00", raised)
    return raised, state.records


def test_after_a_rebalance_a_returning_partition_is_decided_as_a_worker_that_never_held_it_decides():
    """The rebalanced processor and a fresh one over the same recovered store: the same alerts and
    states from the same records; the partition it kept goes on with what it read."""
    busy, late = _burst()
    billing = [Contact("billing", f"R-{i:02d}", START + 60 * i, f"r-{i}") for i in range(30)]
    assert key_partition(b"billing", PARTITIONS) == OTHER
    held = _processor({})
    history = [_message(OUTAGE, 0, mark_record({0: START + 100, 1: inf}, PARTITIONS, START + 100)),
               *_contacts(OTHER, billing, 0), _message(OTHER, 30, mark_record({0: START + 900, 1: inf}, PARTITIONS))]
    _process(held, history)
    kept_watermark = held.watermark(OTHER)

    dropped = held.retain({OTHER})  # the rebalance: the outage's partition went to another worker
    assert held.watermark(OUTAGE) == NEVER and held.watermark(OTHER) == kept_watermark
    assert dropped == 0 and not {OUTAGE} & (set(held.marks) | set(held.sources) | set(held._decided))

    fresh = _processor(dict(held.store))  # what the partition's changelog holds when it comes back
    after = [*_contacts(OUTAGE, busy, 1), _message(OUTAGE, 25, mark_record({0: START + 2000}, PARTITIONS)),
             *_contacts(OUTAGE, late, 26), _message(OUTAGE, 29, mark_record({1: START + 2000}, PARTITIONS))]
    alerts, states = _process(held, after)
    assert (alerts, states) == _process(fresh, after) and held.store == fresh.store
    assert alerts == _expected(busy + late) and {"b-0", "b-1", "b-2"} <= set(alerts[0].evidence)


def test_forgetting_a_partition_drops_its_cached_states_only():
    store: dict = {}
    processor = _processor(store)
    contacts = [Contact("outage", "c-1", START, "e-1"), Contact("billing", "c-2", START, "e-2")]
    _process(processor, [_message(OUTAGE, 0, contact_record(contacts[0])[1], b"outage"),
                         _message(OTHER, 0, contact_record(contacts[1])[1], b"billing")])
    assert set(processor._live) == {b"outage", b"billing"}

    assert processor.forget({OUTAGE}) == 1
    assert set(processor._live) == {b"billing"} and set(store) == {b"outage", b"billing"}  # the store is faust's
