"""The incident processor keeps each service type's decoded state between batches.

The reference is the same processor over a store that never hands back the bytes it was
given (every read is a fresh copy), so it decodes every state on every batch: both must
raise the same incidents and store the same bytes. A state replaced in the store behind
the processor's back (a recovery) is decoded again, not served from memory.
"""

import random

from faust.types.tuples import Message

from cxpulse.processors.engine import EngineSettings, IncidentEngine, IncidentState
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.records import contact_record, mark_record

from .conftest import ListSink, faust_message

T0 = 1_741_000_000.0
SERVICES = ("billing", "outage", "repair")


class CopyingStore(dict):
    """A store whose reads return equal bytes in a new object (as a decoding store would)."""

    def get(self, key, default=None):
        value = super().get(key, default)
        return value if value is None else bytes(bytearray(value))


def _batches(seed: int = 3) -> list[list[Message]]:
    """Contacts from 120 customers over an hour, an outage burst at minute 20, a mark every 40."""
    rng = random.Random(seed)
    contacts = [Contact(rng.choice(SERVICES), f"c-{rng.randrange(120)}", T0 + rng.uniform(0, 3600), f"e-{n}")
                for n in range(1200)]
    contacts += [Contact("outage", f"burst-{n}", T0 + 1200 + n, f"b-{n}") for n in range(40)]
    contacts.sort(key=lambda c: c.occurred_at)
    messages = []
    for n, contact in enumerate(contacts):
        key, value = contact_record(contact)
        messages.append(faust_message("contacts", 0, len(messages), key, value))
        if n % 40 == 39:
            messages.append(faust_message("contacts", 0, len(messages), None, mark_record({0: contact.occurred_at}, 1)))
    messages.append(faust_message("contacts", 0, len(messages), None, mark_record({0: float("inf")}, 1)))
    return [messages[i:i + 25] for i in range(0, len(messages), 25)]


def _run(store: dict) -> tuple[IncidentProcessor, list]:
    processor = IncidentProcessor(IncidentEngine(EngineSettings()), store, "alerts", "changelog")
    raised: list = []
    for batch in _batches():
        processor.process(batch, ListSink(), ListSink(), "2025-03-03T09:00:00+00:00", raised)
    return processor, raised


def test_kept_states_raise_the_same_incidents_and_store_the_same_bytes_as_decoding_every_batch():
    cached, cached_alerts = _run({})
    decoded, decoded_alerts = _run(CopyingStore())
    assert [a.alert_id for a in cached_alerts] == [a.alert_id for a in decoded_alerts]
    assert any(a.rule == "incident" and a.service_type == "outage" for a in cached_alerts)
    assert dict(cached.store) == dict(decoded.store)
    assert set(cached.store) == {s.encode() for s in SERVICES}


def test_a_state_replaced_in_the_store_is_decoded_again():
    store: dict = {}
    processor = IncidentProcessor(IncidentEngine(EngineSettings()), store, "alerts", "changelog")
    first = Contact("billing", "c-1", T0, "e-1")
    processor.process([faust_message("contacts", 0, 0, b"billing", contact_record(first)[1])],
                      ListSink(), ListSink(), "2025-03-03T09:00:00+00:00")
    recovered = IncidentState("billing")
    recovered.contacts = [(T0 - 60.0, "e-0", "c-0")]
    store[b"billing"] = recovered.to_bytes()  # as a changelog recovery would
    second = Contact("billing", "c-2", T0 + 1, "e-2")
    processor.process([faust_message("contacts", 0, 1, b"billing", contact_record(second)[1])],
                      ListSink(), ListSink(), "2025-03-03T09:00:00+00:00")
    kept = IncidentState.from_bytes(store[b"billing"]).contacts
    assert kept == [(T0 - 60.0, "e-0", "c-0"), (T0 + 1, "e-2", "c-2")]
