"""An incident raised again after a crash repeats the record it repeats, byte for byte (all but ``emitted_at``).

The worker delivers a batch's alerts before its states reach the changelog, and acks the
batch's records only after both. A crash in between loses the batch's states and its
offsets: the restarted worker recovers the states the changelog holds, has read no mark
yet, and reads the contacts topic again from the last committed offset, so it decides the
same windows again and raises their alerts again. The raise and its updates are one
``(alert_id, status)`` with different summaries by design (the peak count, "27 customers ...
(raised with 25)"); a record sent again after a crash must be one of those, unchanged: the
count it carries is the count decided at its update time from the contacts' times, not the
number of customers read by the time it was sent again.

Every crash point and commit lag of a stream with an outage (a raise, then updates) is
run with the real :class:`IncidentProcessor` over faust ``Message`` records.
"""

import random

import orjson
import pytest

from cxpulse.processors.engine import EngineSettings, IncidentEngine
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.records import contact_record, mark_record

from .conftest import ListSink, faust_message

T0 = 1_741_000_000.0
BATCH = 6


def _stream(seed: int) -> list:
    """An outage of 40 customers over 20 minutes among background contacts, read out of order within
    the late tolerance, with a mark of one partition of ``cx.events`` or the other after every few contacts."""
    rng = random.Random(seed)
    contacts = [Contact("outage", f"O-{i:02d}", T0 + 600 + 30 * i + rng.uniform(0, 20), f"o-{i}") for i in range(40)]
    contacts += [Contact("outage", f"B-{i}", T0 + rng.uniform(0, 3600), f"b-{i}") for i in range(15)]
    contacts.sort(key=lambda c: c.occurred_at + rng.uniform(0, 30))  # arrival order: a little out of time order
    messages, clock = [], T0
    for n, contact in enumerate(contacts):
        key, value = contact_record(contact)
        messages.append(faust_message("contacts", 0, len(messages), key, value))
        clock = max(clock, contact.occurred_at - 30)
        if n % 4 == 3:  # two scoring workers, one partition each, mark in turn: a restart waits for both
            mark = mark_record({(n // 4) % 2: clock}, 2)
            messages.append(faust_message("contacts", 0, len(messages), None, mark))
    end = T0 + 3 * 3600.0  # the stream moves on past the incident's cooldown
    messages.append(faust_message("contacts", 0, len(messages), None, mark_record({0: end, 1: end}, 2)))
    return messages


def _processor(store: dict) -> IncidentProcessor:
    return IncidentProcessor(IncidentEngine(EngineSettings()), store, "alerts", "changelog")


def _run(processor: IncidentProcessor, batches: list, changelog: dict | None, sent: list, emitted_at: str) -> None:
    """Each batch: its alerts delivered (``sent``), then its states to ``changelog`` (``None``: lost)."""
    for batch in batches:
        effects, state = ListSink(), ListSink()
        processor.process(batch, effects, state, emitted_at)
        sent += [value for topic, _, value, _ in effects.records if topic == "alerts"]
        if changelog is not None:
            changelog.update({key: value for _, key, value, _ in state.records})


def _contents(values: list) -> dict[tuple[str, str], set[bytes]]:
    found: dict[tuple[str, str], set[bytes]] = {}
    for value in values:
        alert = orjson.loads(value)
        alert.pop("emitted_at")
        found.setdefault((alert["alert_id"], alert["status"]), set()).add(orjson.dumps(alert, option=orjson.OPT_SORT_KEYS))
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_record_sent_again_after_a_crash_is_one_the_undisturbed_run_sent(seed):
    messages = _stream(seed)
    batches = [messages[i:i + BATCH] for i in range(0, len(messages), BATCH)]
    undisturbed: list = []
    _run(_processor({}), batches, {}, undisturbed, "first")
    expected = _contents(undisturbed)
    (incident,) = expected.values()
    assert len(incident) >= 3  # raised, then updated twice or more: one (alert_id, status), several counts

    again = 0
    for crash in range(len(batches)):
        for lag in (0, 1, 3):  # batches processed since the last commit, besides the lost one
            changelog: dict = {}
            sent: list = []
            first = _processor({})
            _run(first, batches[:crash], changelog, sent, "first")
            _run(first, batches[crash:crash + 1], None, sent, "first")  # alerts out, then the crash
            resumed = max(0, crash - lag)
            _run(_processor(dict(changelog)), batches[resumed:], changelog, sent, "again")
            assert _contents(sent) == expected, (crash, lag)
            again += len(sent) - len(undisturbed)
    assert again > 0  # some records were sent twice: the comparison saw crash re-raises
