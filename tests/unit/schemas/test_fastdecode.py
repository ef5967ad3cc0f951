"""The hot-path decoder (schemas/fastdecode.py) against ``parse_event``, the contract it stands in for.

Claims: whatever the fast decoder takes, ``parse_event`` takes with the same event (every
field's value and type, the datetime's tzinfo type included); ``decode_event`` gives exactly
``parse_event``'s verdict and reason on everything; the engine reads the fast structs exactly
as the models (the golden stream gives its recorded output); and a schema node the decoder
does not know sends that event type to the exact validator instead of guessing. Checked on
the generated input of ``test_fastpath.py`` (the same strategies), valid and invalid.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pytest
from cxpulse.schemas import EventAdapter, InvalidEvent, decode_event, parse_event
from cxpulse.schemas import events as events_module
from cxpulse.schemas.fastdecode import (
    SUBSTITUTES,
    equivalent,
    fast_decoder,
    fields_of,
    fingerprint,
)
from cxpulse.schemas.types import _RFC3339, _rfc3339
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
)

from ..engine import golden as golden_module
from .examples import CALL, FEEDBACK, TICKET, VALID
from .test_fastpath import EXAMPLES, FIELDS, SCORES, SERVICE_TYPES, TIMESTAMPS, VALUES

DECODER = events_module._DECODER


def outcome(parse, raw: bytes) -> tuple:
    try:
        event = parse(raw, now=1.9e9)
    except InvalidEvent as exc:
        return ("invalid", exc.reason)
    return ("valid", fields_of(event))


def _same_as_parse(raw: bytes) -> None:
    assert outcome(decode_event, raw) == outcome(parse_event, raw)
    fast = DECODER.decode(raw)
    if fast is not None:  # what the fast decoder takes, parse_event takes, with the same event
        assert equivalent(fast, parse_event(raw))


def test_every_event_type_is_decoded_fast():
    # A new event type, field or rule the decoder cannot express names itself here.
    assert DECODER is not None
    assert DECODER.unsupported == {}
    assert DECODER.types == set(EventAdapter.core_schema["choices"])


def test_the_timestamp_substitute_is_in_use():
    # If _rfc3339 or its pattern changed, the substitute must be checked again and its
    # fingerprint updated (schemas/fastdecode.py); until then the exact rule itself runs.
    assert [s.applies() for s in SUBSTITUTES] == [True]
    assert SUBSTITUTES[0].digest == fingerprint(_rfc3339, _RFC3339.pattern)


@pytest.mark.parametrize("example", [event for _, event in VALID], ids=[name for name, _ in VALID])
def test_valid_examples(example):
    _same_as_parse(json.dumps(example, ensure_ascii=False).encode())


@pytest.mark.parametrize("event", [CALL, TICKET, FEEDBACK], ids=["call", "ticket", "feedback"])
def test_the_common_forms_take_the_fast_path(event):
    fast = DECODER.decode(json.dumps(event).encode())
    assert fast is not None and fast.event_type == event["event_type"]
    assert equivalent(fast, parse_event(json.dumps(event).encode()))


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK]), occurred_at=TIMESTAMPS)
@example(base=CALL, occurred_at="2024-05-01T10:00:00.1234567Z")  # rounded by msgspec, truncated by the rule
@example(base=CALL, occurred_at="2024-05-01T10:00:00+0200")
@example(base=CALL, occurred_at="2024-05-01 10:00:00Z")
@example(base=CALL, occurred_at="2024-05-01T10:00:00.Z")
@example(base=CALL, occurred_at="2024-05-01T10:00:00.5-5+02:00")
@example(base=CALL, occurred_at="2024-05-01T10:00:00+02:00:00")
@example(base=CALL, occurred_at="2024-05-01T10:00:00.٣Z")
def test_timestamps(base, occurred_at):
    _same_as_parse(json.dumps({**base, "occurred_at": occurred_at}).encode())


@EXAMPLES
@given(due_at=TIMESTAMPS | st.none(), action=st.sampled_from(["opened", "updated", "resolved"]))
def test_due_times(due_at, action):
    _same_as_parse(json.dumps({**TICKET, "action": action, "due_at": due_at}).encode())


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK]), service_type=SERVICE_TYPES)
@example(base=CALL, service_type="İ" * 40)
def test_service_types(base, service_type):
    _same_as_parse(json.dumps({**base, "service_type": service_type}, ensure_ascii=False).encode())


@EXAMPLES
@given(customer_id=st.text(max_size=70) | st.text(alphabet="Cc-_.:9\n ", max_size=70))
@example(customer_id="C-1\n")  # Python's "$" would take the newline; the contract's does not
def test_customer_ids(customer_id):
    _same_as_parse(json.dumps({**CALL, "customer_id": customer_id}, ensure_ascii=False).encode())


@EXAMPLES
@given(survey=st.sampled_from(["csat", "nps", "ces", "comment", "CSAT", "", None]),
       score=SCORES, with_score=st.booleans(), complaint=st.booleans())
def test_feedback_scores(survey, score, with_score, complaint):
    record = {**FEEDBACK, "survey": survey, "is_complaint": complaint}
    record.pop("score")
    if with_score:
        record["score"] = score
    if survey is None:
        record.pop("survey")
    _same_as_parse(json.dumps(record).encode())


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK]),
       changes=st.dictionaries(st.sampled_from(FIELDS), VALUES | st.integers(-2**70, 2**70) | st.just(1e300), max_size=4),
       dropped=st.lists(st.sampled_from(FIELDS), max_size=2))
def test_any_record(base, changes, dropped):
    record = {key: value for key, value in {**base, **changes}.items() if key not in dropped}
    _same_as_parse(json.dumps(record).encode())


@EXAMPLES
@given(raw=st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_any_bytes(raw):
    _same_as_parse(raw)


@pytest.mark.parametrize("raw", [
    b'{"event_type":"call","event_type":"ticket"}',
    json.dumps({**CALL, "wait_seconds": 1e400}).encode().replace(b"1e400", b"1e400"),
    json.dumps(CALL).encode().replace(b'"phone"', b'"phone","channel":"web"'),  # a repeated key: the last wins
    json.dumps(CALL).encode().replace(b'"C-000042"', b'"C-\\ud800"'),  # a lone surrogate
    json.dumps(CALL).encode().replace(b'"billing"', b'"bill\xffing"'),  # not UTF-8
    b"\xef\xbb\xbf" + json.dumps(CALL).encode(),  # a byte-order mark
    json.dumps(CALL).encode() + b" \n",
    json.dumps({k: v for k, v in CALL.items() if k != "event_type"}).encode(),
], ids=["two-tags", "infinite-float", "repeated-key", "surrogate", "not-utf8", "bom", "trailing-space", "no-tag"])
def test_edge_cases(raw):
    _same_as_parse(raw)


def test_the_engine_reads_fast_structs_as_it_reads_the_models(monkeypatch):
    # The golden stream through decode_event instead of parse_event: byte-identical output.
    taken = []

    def decode(line: bytes) -> Any:
        event = decode_event(line)
        taken.append(not isinstance(event, BaseModel))
        return event

    monkeypatch.setattr(golden_module, "parse_event", decode)
    assert golden_module.run_golden() == golden_module.load_golden()
    assert sum(taken) > 0.95 * len(taken)


def test_a_future_event_has_parse_events_reason():
    # The reason names the rule, never the value (it is logged), and is parse_event's own.
    raw = json.dumps({**CALL, "occurred_at": "2031-01-01T00:00:00Z"}).encode()
    assert DECODER.decode(raw) is not None  # the fast path decides it
    with pytest.raises(InvalidEvent) as fast:
        decode_event(raw, now=1.9e9, max_future_seconds=60.0)
    with pytest.raises(InvalidEvent) as exact:
        parse_event(raw, now=1.9e9, max_future_seconds=60.0)
    assert fast.value.reason == exact.value.reason == "occurred_at: more than 60 s after the time it was read"


# --- what the decoder does with schemas it does not know ----------------------------------

def _double(value: int) -> int:
    return value * 2


class _Known(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["known"]
    n: Annotated[int, AfterValidator(_double)] = 1
    name: Annotated[str, Field(strict=True, pattern=r"^a(b|c)+$")] = "ab"


class _Aliased(BaseModel):
    kind: Literal["aliased"]
    n: int = Field(validation_alias="number")


class _Coerced(BaseModel):
    kind: Literal["coerced"]
    n: Annotated[int, BeforeValidator(int)]


class _Dotted(BaseModel):
    kind: Literal["dotted"]
    name: Annotated[str, Field(pattern=r"^a.b$")]


TOY = TypeAdapter(Annotated[_Known | _Aliased | _Coerced | _Dotted, Field(discriminator="kind")])


def test_unknown_nodes_send_their_type_to_the_exact_validator():
    decoder = fast_decoder(TOY, [b'{"kind":"known","n":2}'])
    assert decoder is not None and decoder.types == {"known"}
    assert set(decoder.unsupported) == {"aliased", "coerced", "dotted"}
    assert "validation_alias" in decoder.unsupported["aliased"]
    assert "pattern" in decoder.unsupported["dotted"]
    assert decoder.decode(b'{"kind":"coerced","n":"3"}') is None
    assert decoder.decode(b'{"kind":"aliased","number":3}') is None


@pytest.mark.parametrize("raw", [b'{"kind":"known"}', b'{"kind":"known","n":1}', b'{"kind":"known","n":7,"name":"abcb"}',
                                 b'{"kind":"known","name":"abd"}', b'{"kind":"known","name":"ab\\n"}',
                                 b'{"kind":"known","extra":1}'])
def test_after_validators_run_on_given_values_only_and_patterns_keep_their_meaning(raw):
    decoder = fast_decoder(TOY, [])
    fast = decoder.decode(raw)
    try:
        exact = TOY.validate_json(raw)
    except Exception:  # noqa: BLE001 - refused by the exact validator: the fast one must refuse too
        assert fast is None
        return
    assert fast is not None and fields_of(fast) == fields_of(exact)


def test_a_decoder_that_disagrees_on_a_sample_is_not_used():
    def wrong(value: int) -> int:
        return value

    class Model(BaseModel):
        kind: Literal["m"]
        n: Annotated[int, AfterValidator(_double)]

    adapter = TypeAdapter(Annotated[Model, Field(discriminator="kind")])
    assert fast_decoder(adapter, [b'{"kind":"m","n":2}']) is not None
    # A sample the exact validator reads differently (here: the decoder is handed a model whose
    # validator was swapped after the schema was built) turns the decoder off.
    decoder = fast_decoder(adapter, [])
    decoder._finish = {k: (lambda s: s) for k in decoder._finish}
    assert not equivalent(decoder.decode(b'{"kind":"m","n":2}'), adapter.validate_json(b'{"kind":"m","n":2}'))


def test_fast_structs_carry_the_same_field_types():
    fast = DECODER.decode(json.dumps(VALID[1][1]).encode())
    assert type(fast.occurred_at) is datetime and fast.occurred_at.utcoffset() is not None
    assert fast.event_type == "call" and fast.segment == "vip"
