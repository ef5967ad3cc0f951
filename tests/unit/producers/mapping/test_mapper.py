"""Every rule of a mapping file, and every reason a record fails to map (no value ever quoted)."""

import orjson
import pytest

from cxpulse.errors import ConfigError
from cxpulse.producers.mapping import Events, Failed, Skipped, judge_bytes, judge_record
from cxpulse.producers.mapping.mapper import Ignored, Mapped, Unmappable

from .helpers import CALL_RULE, NOW, RECORD, mapper


def events_of(outcome) -> list[dict]:
    assert isinstance(outcome, Events), outcome
    return [orjson.loads(event.value) for event in outcome.accepted]


def one(text: str, record: dict, **kwargs) -> dict:
    [event] = events_of(judge_record(mapper(text, **kwargs), record, NOW, 86400))
    return event


def reason(text: str, record, **kwargs) -> str:
    outcome = judge_record(mapper(text, **kwargs), record, NOW, 86400)
    assert isinstance(outcome, Failed), outcome
    return outcome.reason


def call_with(field_line: str) -> str:
    """CALL_RULE with one field line replaced (by its name) or added."""
    name = field_line.split("=")[0].strip()
    lines = [line for line in CALL_RULE.splitlines() if not line.startswith(f"{name} =")]
    return "\n".join(lines) + "\n" + field_line + "\n"


def test_expressions_constants_types_and_defaults_make_a_valid_event():
    event = one(CALL_RULE, RECORD)
    assert event == {"event_type": "call", "event_id": "r-1", "customer_id": "C-1", "occurred_at": "2025-05-01T10:00:00+00:00",
                     "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 12,
                     "talk_seconds": 60, "outcome": "resolved"}  # fmt: skip
    assert one(CALL_RULE, {**RECORD, "wait": None})["wait_seconds"] == 0  # default for null
    assert one(CALL_RULE, {k: v for k, v in RECORD.items() if k != "wait"})["wait_seconds"] == 0  # and for missing


def test_a_field_that_gives_nothing_is_left_out():
    event = one(call_with('agent_id = "agent"'), RECORD)
    assert "agent_id" not in event


def test_alternatives_the_first_that_gives_a_value_wins_and_when_guards_one():
    text = call_with('customer_id = [{ expr = "crm" }, { when = "kind == \'vip\'", value = "VIP-1" }, { expr = "who" }]')
    assert one(text, {**RECORD, "crm": "CRM-9"})["customer_id"] == "CRM-9"
    assert one(text, {**RECORD, "kind": "vip"})["customer_id"] == "VIP-1"
    assert one(text, RECORD)["customer_id"] == "C-1"


def test_maps_translate_values_with_a_default_for_unlisted_ones():
    text = call_with('outcome = { expr = "end", map = "ends", default = "unresolved" }') + \
        '[maps.ends]\nHANGUP = "resolved"\nDROP = "abandoned"\n'
    assert one(text, {**RECORD, "end": "DROP"})["outcome"] == "abandoned"
    assert one(text, {**RECORD, "end": "SOMETHING"})["outcome"] == "unresolved"
    assert one(text, RECORD)["outcome"] == "unresolved"


def test_a_value_missing_from_a_map_without_default_is_a_reason_naming_the_map_not_the_value():
    text = call_with('outcome = { expr = "end", map = "ends" }') + '[maps.ends]\nHANGUP = "resolved"\n'
    why = reason(text, {**RECORD, "end": "SECRET-VALUE"})
    assert why == 'source test, rule call: outcome: the value of "end" is not in [maps.ends]'
    assert "SECRET" not in why


def test_map_keys_match_numbers_and_booleans_as_written_in_toml():
    text = call_with('outcome = { expr = "code", map = "codes" }') + '[maps.codes]\n1 = "resolved"\ntrue = "escalated"\n'
    assert one(text, {**RECORD, "code": 1})["outcome"] == "resolved"
    assert one(text, {**RECORD, "code": 1.0})["outcome"] == "resolved"
    assert one(text, {**RECORD, "code": True})["outcome"] == "escalated"


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("number", "12.5", 12.5), ("number", 3, 3), ("integer", "42", 42), ("integer", 42.0, 42),
    ("string", 17, "17"), ("string", True, "true"), ("boolean", "yes", True), ("boolean", 0, False),
    ("timestamp", "2025-05-01T10:00:00.123456789Z", "2025-05-01T10:00:00.123456+00:00"),
    ("timestamp", "2025-05-01T12:00:00+02:00", "2025-05-01T12:00:00+02:00"),
    ("epoch_ms", 1746093600000, "2025-05-01T10:00:00+00:00"), ("epoch_seconds", "1746093600", "2025-05-01T10:00:00+00:00"),
])  # fmt: skip
def test_conversions(kind, value, expected):
    m = mapper(call_with(f'agent_id = {{ expr = "x", type = "{kind}" }}'))
    outcome = m.map({**RECORD, "x": value})
    assert isinstance(outcome, Mapped)
    assert outcome.events[0].data["agent_id"] == expected


@pytest.mark.parametrize(("kind", "value", "says"), [
    ("number", "twelve", "is not a number"), ("number", True, "is not a number"), ("integer", 1.5, "is not an integer"),
    ("boolean", "maybe", "is not true or false"), ("timestamp", "2025-05-01T10:00:00", "is not a timestamp with a UTC offset"),
    ("timestamp", 1746093600, "is not a timestamp with a UTC offset"), ("epoch_ms", "soon", "is not milliseconds since the epoch"),
    ("string", {"a": 1}, "is not text"),
])  # fmt: skip
def test_a_value_that_does_not_convert_is_a_reason(kind, value, says):
    m = mapper(call_with(f'agent_id = {{ expr = "x", type = "{kind}" }}'))
    outcome = m.map({**RECORD, "x": value})
    assert isinstance(outcome, Unmappable)
    [problem] = outcome.problems
    assert problem.field == "agent_id" and problem.reason == f'"x" {says}'


def test_hashes_are_keyed_stable_normalised_and_never_the_address():
    text = call_with('customer_id = [{ when = "kind == \'email\'", expr = "address", hash = "email", prefix = "em-" }, '
                     '{ expr = "address", hash = "phone" }]')  # fmt: skip
    phone = one(text, {**RECORD, "address": "+1 (206) 555-0142"})["customer_id"]
    assert phone == one(text, {**RECORD, "address": "tel:+12065550142"})["customer_id"]  # same number, other spelling
    assert phone.startswith("h-") and len(phone) == 34 and "2065550142" not in phone
    assert phone != one(text, {**RECORD, "address": "+12065550142"}, key="other" * 4)["customer_id"]  # the key matters
    email = one(text, {**RECORD, "kind": "email", "address": " Jane.Doe@Example.com "})["customer_id"]
    assert email == one(text, {**RECORD, "kind": "email", "address": "jane.doe@example.com"})["customer_id"]
    assert email.startswith("em-") and "jane" not in email


def test_a_mapping_that_hashes_needs_the_key_at_load_time():
    text = call_with('customer_id = { expr = "address", hash = "phone" }')
    with pytest.raises(ConfigError, match="hashes customer_id .*sources.hash_key"):
        mapper(text, key=None)


def test_hashing_something_that_is_not_text_is_a_reason():
    text = call_with('customer_id = { expr = "address", hash = "text" }')
    assert reason(text, {**RECORD, "address": {"n": 1}}).endswith('customer_id: "address" must give text to hash')


def test_root_picks_the_part_of_the_record_the_rules_read():
    text = 'root = "data.payload || @"\n' + CALL_RULE
    assert one(text, {"data": {"payload": RECORD}})["event_id"] == "r-1"
    assert one(text, RECORD)["event_id"] == "r-1"
    assert reason('root = "data"\n' + CALL_RULE, {"data": [1]}) == 'source test: record: root "data" does not give a JSON object'


def test_ignore_skips_records_and_rules_apply_by_when():
    text = 'ignore = "kind == \'ping\'"\n' + CALL_RULE.replace('name = "call"', 'name = "call"\nwhen = "kind != \'note\'"')
    assert isinstance(judge_record(mapper(text), {**RECORD, "kind": "ping"}, NOW, 86400), Skipped)
    assert reason(text, {**RECORD, "kind": "note"}) == "source test: record: no [[events]] rule applies to this record"


def test_every_rule_that_applies_makes_an_event_and_their_ids_must_differ():
    second = CALL_RULE.replace('name = "call"', 'name = "again"').replace('event_id = "id"', "event_id = \"join('-', [id, 'b'])\"")
    outcome = judge_record(mapper(CALL_RULE + second), RECORD, NOW, 86400)
    assert [e["event_id"] for e in events_of(outcome)] == ["r-1", "r-1-b"]
    same = CALL_RULE.replace('name = "call"', 'name = "again"')
    assert reason(CALL_RULE + same, RECORD) == "source test: event_id: two [[events]] rules give this record the same event_id"


def test_a_record_that_is_not_an_object_or_not_json_is_a_reason():
    m = mapper(CALL_RULE)
    assert judge_record(m, [1, 2], NOW, 86400).reason == "source test: record: each record must be a JSON object"
    assert judge_bytes(m, b"{nope", NOW, 86400).reason == "source test: record: not valid JSON"
    assert judge_bytes(m, b"\xff\xfe", NOW, 86400).reason == "source test: record: not valid UTF-8"
    assert judge_bytes(m, b"", NOW, 86400).reason == "source test: record: empty record"


def test_a_function_given_the_wrong_type_names_the_expression_and_types_only():
    text = call_with('service_type = "slug(queue)"')
    why = reason(text, {**RECORD, "queue": 12345})
    assert why == 'source test, rule call: service_type: "slug(queue)": slug() takes string, null, not number'
    assert "12345" not in why


def test_contract_errors_name_the_expression_that_fed_the_field():
    why = reason(CALL_RULE, {**RECORD, "wait": -5})
    assert why.startswith('source test, rule call: wait_seconds: ') and why.endswith('(mapped from "wait")')
    assert "-5" not in why
    assert reason(CALL_RULE, {**RECORD, "who": None}) == \
        'source test, rule call: customer_id: required by the event contract; "who" gave no value'
    assert reason(CALL_RULE, {**RECORD, "who": "x@y"}).startswith("source test, rule call: customer_id: String should match pattern")


def test_a_field_the_contract_requires_but_the_rule_does_not_set_says_so():
    text = "\n".join(line for line in CALL_RULE.splitlines() if not line.startswith("outcome"))
    assert reason(text, RECORD) == "source test, rule call: outcome: required by the event contract; rule call does not set it"


def test_future_events_are_refused_like_any_other_event():
    assert reason(CALL_RULE, {**RECORD, "at": "2099-01-01T00:00:00Z"}).startswith("source test, rule call: occurred_at: more than")


def test_a_mapping_is_checked_when_it_is_loaded():
    with pytest.raises(ConfigError, match=r"call.customer_id: 'who\[' is not a valid JMESPath expression"):
        mapper(call_with('customer_id = "who["'))
    with pytest.raises(ConfigError, match="nosuch"):
        mapper(call_with('customer_id = "nosuch(who)"'))
    with pytest.raises(ConfigError, match="uses map 'missing', which \\[maps\\] does not define"):
        mapper(call_with('outcome = { expr = "end", map = "missing" }'))
    with pytest.raises(ConfigError, match="fields must compute event_id"):
        mapper(CALL_RULE.replace('event_id = "id"\n', ""))
    with pytest.raises(ConfigError, match="give exactly one of expr"):
        mapper(call_with('agent_id = { expr = "a", value = "b" }'))
    with pytest.raises(ConfigError, match="events.0.event_type"):
        mapper(CALL_RULE.replace('event_type = "call"', 'event_type = "chat"'))
    with pytest.raises(ConfigError, match="unknown_key"):
        mapper("unknown_key = 1\n" + CALL_RULE)


def test_ignored_and_failed_are_distinct_from_mapped():
    m = mapper('ignore = "skip"\n' + CALL_RULE)
    assert isinstance(m.map({**RECORD, "skip": True}), Ignored)
    assert isinstance(m.map({**RECORD, "skip": 0}), Ignored)  # JMESPath's truth: 0 is true
    for false in (False, None, "", [], {}):
        assert isinstance(m.map({**RECORD, "skip": false}), Mapped)
