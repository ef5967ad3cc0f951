"""Sending dead letters again after a fix: each re-judged by today's rules, then produced.

A letter of an invalid event is validated again as an event (the contract and the
future-timestamp rule at this moment); a letter that names a source mapping (``source``)
is mapped again through that mapping (as it is now), or through ``--source`` when given.
What is valid now is produced to the events topic keyed by customer_id; what still fails
is counted by reason and left where it is (the dead-letter topic is never changed).

Re-sending is idempotent: an event keeps its ``event_id`` (the original's, or the one the
mapping derives from the record), the same event from several letters is sent once, and
the worker drops an ``event_id`` it has seen for that customer (among its last
``engine.dedup_event_ids``), so sending the same letters again changes nothing.

A letter whose raw value was truncated (``raw_truncated``: a value larger than a letter
holds; ``raw_size`` and ``raw_sha256`` describe the whole) is refused: its bytes are not the
original record, and sending them would put a different record on the events topic. Each
refusal is counted with a one-line reason; the other letters are still judged and sent.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cxpulse.processors.validation import validate_record
from cxpulse.schemas import DeadLetter
from cxpulse.settings import Settings

from ..mapping import Events, Failed, Mapper, Skipped, judge_bytes, load_source
from ..sink import DeliveryReport, EventSink
from .letters import Letter, raw_bytes

__all__ = ["ResendPlan", "plan_resend", "send_plan", "truncated_reason"]


@dataclass
class ResendPlan:
    """What a re-send does: the records to produce and what happened to each letter."""

    letters: int = 0
    records: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) to produce
    resendable: int = 0  # letters that give valid events now
    duplicates: int = 0  # events already planned from an earlier letter
    ignored: int = 0  # letters the mapping now skips
    still_failing: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # "position: reason" of each truncated letter, never sent


def truncated_reason(letter: DeadLetter) -> str:
    """Why a truncated letter is not re-sent (one line: the sizes and the original's digest)."""
    kept = len(raw_bytes(letter))
    size = f"{letter.raw_size:,}" if letter.raw_size is not None else "?"
    digest = f", sha256 {letter.raw_sha256[:16]}…" if letter.raw_sha256 else ""
    return f"raw value truncated ({kept:,} of {size} bytes kept{digest}): re-send the original record instead"


def plan_resend(letters: Iterable[Letter], settings: Settings, *, source: str | None = None,
                clock: Callable[[], float] = time.time) -> ResendPlan:  # fmt: skip
    """Judge every letter again (see the module docstring); nothing is sent yet."""
    plan = ResendPlan()
    mappers: dict[str, Mapper] = {}
    seen: set[tuple[bytes, str]] = set()
    max_future = settings.validation.max_future_seconds
    for letter in letters:
        plan.letters += 1
        if letter.letter is None:
            plan.still_failing[letter.reason] += 1
            continue
        if letter.letter.raw_truncated:
            plan.refused.append(f"{letter.position}: {truncated_reason(letter.letter)}")
            continue
        name = source or letter.letter.source
        raw = raw_bytes(letter.letter)
        if name is None:
            outcome = validate_record(None, raw, None, max_future)
            if isinstance(outcome, str):
                plan.still_failing[outcome] += 1
                continue
            events = [(outcome.customer_id.encode("utf-8"), outcome.event_id, raw)]
        else:
            mapper = mappers.get(name) or mappers.setdefault(name, load_source(name, settings))
            judged = judge_bytes(mapper, raw, clock(), max_future)
            if isinstance(judged, Skipped):
                plan.ignored += 1
                continue
            if isinstance(judged, Failed):
                plan.still_failing[judged.reason] += 1
                continue
            assert isinstance(judged, Events)
            events = [(event.key, event.identity[1], event.value) for event in judged.accepted]
        plan.resendable += 1
        plan.by_source[name or "-"] += 1
        for key, event_id, value in events:
            if (key, event_id) in seen:
                plan.duplicates += 1
                continue
            seen.add((key, event_id))
            plan.records.append((key, value))
    return plan


def send_plan(plan: ResendPlan, sink: EventSink) -> DeliveryReport:
    """Produce the plan's records and close the sink; the report counts what Kafka acknowledged."""
    for key, value in plan.records:
        sink.send(key, value)
    return sink.close()
