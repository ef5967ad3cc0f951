"""``cxpulse dlq`` without a broker: letters, selections, grouping by reason, re-send plans."""

import json
from pathlib import Path

import orjson

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.validation import KEY_MISMATCH
from cxpulse.producers.dlq import Selection, explain, parse_letter, plan_resend, raw_bytes, reason_group, send_plan
from cxpulse.producers.produce_cmd import CheckOnlySink
from cxpulse.schemas import dead_letter, dead_letter_json
from cxpulse.settings import Settings

SAMPLES = Path(__file__).resolve().parents[3] / "sources" / "samples"
SETTINGS = Settings(sources={"hash_key": "k" * 24})
EVENT = {"event_id": "e-1", "event_type": "call", "customer_id": "C-1", "occurred_at": "2025-05-01T10:00:00Z",
         "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 5,
         "talk_seconds": 60, "outcome": "resolved"}  # fmt: skip


def record(offset: int, reason: str, raw: bytes, *, source: str | None = None, topic: str = "cx.events",
           ts: int = 1_746_093_600_000, key: bytes | None = b"C-1") -> SourceRecord:  # fmt: skip
    letter = dead_letter(reason, raw, source_topic=topic, partition=0, offset=offset * 10, key=key, source=source)
    return SourceRecord(0, offset, ts + offset, None, dead_letter_json(letter))


def test_letters_know_where_they_are_and_where_they_came_from():
    letter = parse_letter(record(3, "score: bad", b"{}"))
    assert (letter.position, letter.reason, letter.source, letter.origin()) == ("0:3", "score: bad", None, "cx.events 0:30")
    assert letter.written_at() == "2025-05-01T10:00:00+00:00"
    junk = parse_letter(SourceRecord(1, 7, None, None, b"not a letter"))
    assert junk.letter is None and junk.reason == "(not a dead letter: not a dead-letter record)" and junk.written_at() == "-"


def test_letters_written_without_a_null_key_still_read():
    value = orjson.dumps({"error": "x", "source_topic": "cx.events", "partition": 0, "offset": 1, "raw": "{}"})
    assert parse_letter(SourceRecord(0, 0, 1, None, value)).letter.key is None


def test_raw_bytes_undo_base64():
    letter = dead_letter("x", b"\xff\x00", source_topic="t", partition=0, offset=0, key=None)
    assert letter.raw_encoding == "base64" and raw_bytes(letter) == b"\xff\x00"
    assert raw_bytes(dead_letter("x", b'{"a": 1}', source_topic="t", partition=0, offset=0, key=None)) == b'{"a": 1}'


def test_selection_by_reason_source_and_topic():
    letters = [parse_letter(r) for r in (record(0, "Score: out of range", b"{}"), record(1, "source zendesk: x", b"{}", source="zendesk", topic="raw"))]
    assert [letter.offset for letter in letters if Selection(reason="SCORE").matches(letter)] == [0]
    assert [letter.offset for letter in letters if Selection(source="zendesk").matches(letter)] == [1]
    assert [letter.offset for letter in letters if Selection(source="-").matches(letter)] == [0]
    assert [letter.offset for letter in letters if Selection(origin_topic="raw").matches(letter)] == [1]


def test_reasons_that_quote_values_fold_into_one_group():
    assert reason_group("occurred_at: 2025-06-01T00:00:00+00:00 is more than 86400 s after the time it was read") == \
        "occurred_at: <time> is more than 86400 s after the time it was read"
    assert reason_group("event_type: must be one of 'call', 'ticket', 'feedback', got 'chat'") == \
        "event_type: must be one of '…', '…', '…'"
    assert reason_group("not valid UTF-8: byte 0xff at position 17") == "not valid UTF-8: byte 0x… at position N"
    assert reason_group("score: a csat score must be 1..5, got 9; channel: bad") == "score: a csat score must be 1..5; channel: bad"
    kept = 'source zendesk, rule ticket: action: the value of "lower(event.current)" is not in [maps.status_action]'
    assert reason_group(kept) == kept


def test_explain_counts_each_group_with_its_first_example():
    letters = [parse_letter(r) for r in (
        record(0, "occurred_at: 2030-01-01T00:00:00Z is more than 86400 s after the time it was read", b"{}"),
        record(1, "score: x", b"{}"),
        record(2, "occurred_at: 2031-01-01T00:00:00Z is more than 86400 s after the time it was read", b"{}"),
    )]  # fmt: skip
    groups = explain(letters)
    assert [(g.reason, g.count, g.first.position, g.last.position) for g in groups] == [
        ("occurred_at: <time> is more than 86400 s after the time it was read", 2, "0:0", "0:2"),
        ("score: x", 1, "0:1", "0:1"),
    ]
    assert groups[0].sources == {"-": 2} and groups[0].origins == {"cx.events": 2}


def test_resend_validates_events_again_fixes_their_key_and_counts_what_still_fails():
    good = orjson.dumps(EVENT)
    letters = [parse_letter(r) for r in (
        record(0, KEY_MISMATCH, good, key=b"wrong"),                       # valid event, wrong key: sent keyed right
        record(1, "score: a csat score must be 1..5, got 9", orjson.dumps({**EVENT, "wait_seconds": -1})),
        record(2, "a duplicate", good),                                    # the same event again: sent once
    )]  # fmt: skip
    plan = plan_resend(letters, SETTINGS)
    assert (plan.letters, plan.resendable, plan.duplicates) == (3, 2, 1)
    assert plan.records == [(b"C-1", good)]
    [(why, count)] = plan.still_failing.items()
    assert why.startswith("wait_seconds:") and count == 1
    sink = CheckOnlySink()
    assert send_plan(plan, sink).sent == 1


def test_resend_maps_source_letters_again_and_a_fixed_mapping_recovers_them(tmp_path):
    closed = json.loads((SAMPLES / "salesforce-case.json").read_text())[5]  # no ContactId
    letter = parse_letter(record(0, "source salesforce-case, rule changed: customer_id: required", orjson.dumps(closed),
                                 source="salesforce-case", topic="raw", key=None))  # fmt: skip
    plan = plan_resend([letter], SETTINGS)
    assert plan.records == [] and list(plan.still_failing) == [letter.reason.replace(": required", ": required by the event contract; " + _sources())]
    # The fix: a mapping that takes the customer from the case's owner when no contact is named.
    preset = (Path(__file__).resolve().parents[4] / "producers" / "mapping" / "presets" / "salesforce-case.toml").read_text()
    fixed = preset.replace('{ when = "AccountId", expr = "join(\'-\', [\'sf\', AccountId])" },',
                           '{ when = "AccountId", expr = "join(\'-\', [\'sf\', AccountId])" },\n  { value = "sf-unknown" },')
    path = tmp_path / "salesforce-fixed.toml"
    path.write_text(fixed, encoding="utf-8")
    plan = plan_resend([letter], SETTINGS, source=str(path))
    assert plan.resendable == 1 and not plan.still_failing
    [(key, value)] = plan.records
    assert key == b"sf-unknown" and orjson.loads(value)["action"] == "closed"
    assert plan_resend([letter], SETTINGS, source=str(path)).records == plan.records  # the same event id again


def _sources() -> str:
    return '"join(\'-\', [\'sf\', ContactId])" or "join(\'-\', [\'sf\', AccountId])" gave no value'


def test_resend_refuses_a_letter_whose_raw_value_was_truncated_and_sends_the_others():
    # A value larger than a letter holds keeps its first 1.5 MiB only. Here those bytes still
    # read as a valid event (the original ends in 3 MB of blanks), so only the refusal keeps
    # them off the events topic: what would be sent is not the original record.
    good = orjson.dumps(EVENT)
    big = orjson.dumps({**EVENT, "event_id": "e-2"}) + b" " * 3_000_000
    letters = [parse_letter(r) for r in (record(0, "too large", big), record(1, "a fixed rule", good))]
    cut = letters[0].letter
    assert cut.raw_truncated and cut.raw_size == len(big) and len(raw_bytes(cut)) < len(big)

    plan = plan_resend(letters, SETTINGS)
    assert plan.records == [(b"C-1", good)] and (plan.letters, plan.resendable) == (2, 1)
    [refused] = plan.refused
    assert refused.startswith("0:0: raw value truncated (1,572,864 of 3,000,") and "\n" not in refused
    assert f"sha256 {cut.raw_sha256[:16]}" in refused and not plan.still_failing
