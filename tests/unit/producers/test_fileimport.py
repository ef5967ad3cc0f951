import gzip
import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cxpulse.producers.errors import ProducerError
from cxpulse.producers.fileimport import Record, format_of, import_records, read_csv, read_jsonl
from cxpulse.producers.sink import DeliveryReport
from cxpulse.schemas import parse_event

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def call(**fields) -> dict:
    event = {
        "event_id": "e-1",
        "event_type": "call",
        "customer_id": "c-1",
        "occurred_at": "2025-03-14T09:00:00Z",
        "channel": "phone",
        "service_type": "billing",
        "direction": "inbound",
        "wait_seconds": 12,
        "talk_seconds": 240.5,
        "outcome": "resolved",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def jl(**fields) -> bytes:
    return orjson.dumps(call(**fields))


class ListSink:
    """The unit tests' sink: remembers what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    def send(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))

    def close(self) -> DeliveryReport:
        return DeliveryReport(sent=len(self.sent), delivered=len(self.sent))


def run(records, on_error="continue"):
    sink, rejected = ListSink(), []
    result = import_records(
        records, sink, on_error=on_error, reject=lambda line, reason: rejected.append((line, reason)), clock=NOW.timestamp
    )
    return result, sink.sent, rejected


# --- JSONL ---------------------------------------------------------------------------

FUTURE = (NOW + timedelta(days=2)).isoformat()

JSONL_CASES = [
    # (line bytes, expected reason or None when valid)
    (jl(), None),
    (jl(service_type="Billing", segment="vip"), None),
    (b"this is not json", "not valid JSON"),
    (b"[1, 2]", "the record must be a JSON object"),
    (jl(event_type=None), "event_type: required"),
    (jl(event_type="sms"), "event_type: must be one of"),
    (jl(channel="fax"), "channel:"),
    (jl(wait_seconds=-1), "wait_seconds: Input should be greater than or equal to 0"),
    (jl(wait_seconds="12"), "wait_seconds:"),
    (jl(customer_id="joe@example.com"), "customer_id:"),
    (jl(occurred_at="2025-03-14T09:00:00"), "occurred_at:"),
    (jl(occurred_at=FUTURE), "occurred_at: "),
    (jl(colour="red"), "colour: unknown field"),
    (b'{"event_id": "e", "event_type": "feedback", "customer_id": "c", "occurred_at": "2025-03-14T09:00:00Z",'
     b' "channel": "app", "service_type": "billing", "survey": "csat", "score": 9}', "score: a csat score must be 1..5"),
    (b'{"event_id": "\xff\xfe", "event_type": "call"}', "not valid UTF-8"),
    (jl(**{"x\n\x1b[31mfake": 1}), "x\\x0a\\x1b[31mfake: unknown field"),  # a field name cannot forge a line
]  # fmt: skip


@pytest.mark.parametrize(("line", "reason"), JSONL_CASES)
def test_jsonl_lines_are_accepted_or_refused_with_a_reason(line, reason):
    result, sent, rejected = run(read_jsonl(io.BytesIO(line + b"\n")))
    if reason is None:
        assert rejected == [] and sent == [(b"c-1", line)] and result.produced == 1
    else:
        assert sent == [] and result.rejected == 1
        ((number, got),) = rejected
        assert number == 1 and reason in got and "\n" not in got


def test_jsonl_line_numbers_count_blank_lines_and_survive_bom_and_crlf():
    text = b"\xef\xbb\xbf" + jl(event_id="a") + b"\r\n\r\n   \n" + b"{oops\r\n" + jl(event_id="b") + b"\n" + b"{\n"
    result, sent, rejected = run(read_jsonl(io.BytesIO(text)))
    assert [number for number, _ in rejected] == [4, 6]
    assert [orjson.loads(value)["event_id"] for _, value in sent] == ["a", "b"]
    assert (result.read, result.produced, result.rejected) == (4, 2, 2)


def test_continue_produces_every_valid_line_and_only_those():
    lines = [jl(event_id=f"e{i}", customer_id=f"c{i}") if i % 3 else b"nope" for i in range(1, 10)]
    result, sent, rejected = run(read_jsonl(io.BytesIO(b"\n".join(lines))))
    assert [number for number, _ in rejected] == [3, 6, 9]
    assert [key for key, _ in sent] == [f"c{i}".encode() for i in range(1, 10) if i % 3]
    for _, value in sent:
        parse_event(value)  # exactly the validated bytes were handed on
    assert result.stopped_at is None


def test_stop_ends_at_the_first_bad_line_and_sends_nothing_after_it():
    lines = [jl(event_id="a"), jl(event_id="b"), b"broken", jl(event_id="c"), b"broken again"]
    result, sent, rejected = run(read_jsonl(io.BytesIO(b"\n".join(lines))), on_error="stop")
    assert [orjson.loads(value)["event_id"] for _, value in sent] == ["a", "b"]
    assert rejected == [(3, rejected[0][1])] and result.stopped_at == 3
    assert (result.read, result.produced, result.rejected) == (3, 2, 1)


# --- CSV -----------------------------------------------------------------------------

HEADER = "event_id,event_type,customer_id,occurred_at,channel,service_type,direction,wait_seconds,talk_seconds,outcome,is_complaint,sentiment,priority"
ROW = "e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved,,,"

CSV_CASES = [
    # (row, expected event fields or a reason)
    (ROW, call()),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,Billing,inbound,0,30,resolved,TRUE,-0.75,",
     call(service_type="Billing", wait_seconds=0, talk_seconds=30, is_complaint=True, sentiment=-0.75)),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved,0,,", call(is_complaint=False)),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved,,,null", "priority: unknown field"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,abc,240.5,resolved,,,", "wait_seconds: 'abc' is not a number"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,inf,240.5,resolved,,,", "wait_seconds: 'inf' is not a finite number"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved,maybe,,", "is_complaint: 'maybe' is not true or false"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved", "the row has 10 cells, the header has 13"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,fax,billing,inbound,12,240.5,resolved,,,", "channel:"),
    (",call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,12,240.5,resolved,,,", "event_id: Field required"),
    ("e-1,call,c-1,2025-03-14T09:00:00Z,phone,billing,inbound,,240.5,resolved,,,", "wait_seconds: Field required"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "expected"), CSV_CASES)
def test_csv_rows_are_typed_and_validated(row, expected):
    result, sent, rejected = run(read_csv(io.BytesIO(f"{HEADER}\n{row}\n".encode())))
    if isinstance(expected, dict):
        assert rejected == []
        ((key, value),) = sent
        assert key == b"c-1" and orjson.loads(value) == expected
    else:
        ((number, reason),) = rejected
        assert number == 2 and expected in reason and sent == []


def test_csv_typed_integers_and_null():
    header = "event_id,event_type,customer_id,occurred_at,channel,service_type,survey,score,comment,related_ticket_id"
    rows = [
        "f-1,feedback,c-1,2025-03-14T09:00:00Z,app,billing,nps,9,,",
        "f-2,feedback,c-1,2025-03-14T09:00:00Z,app,billing,nps,4.5,,",
        "f-3,feedback,c-1,2025-03-14T09:00:00Z,app,billing,comment,,\"Slow, but \"\"fine\"\"\",null",
    ]
    result, sent, rejected = run(read_csv(io.BytesIO("\n".join([header, *rows]).encode())))
    assert rejected == [(3, "score: '4.5' is not an integer")]
    assert orjson.loads(sent[0][1])["score"] == 9
    assert orjson.loads(sent[1][1])["comment"] == 'Slow, but "fine"'
    assert orjson.loads(sent[1][1])["related_ticket_id"] is None


def test_csv_line_numbers_follow_physical_lines_through_quoted_newlines_and_blanks():
    header = "event_id,event_type,customer_id,occurred_at,channel,service_type,survey,comment"
    rows = [
        'f-1,feedback,c-1,2025-03-14T09:00:00Z,app,billing,comment,"two\nlines"',
        "",
        "f-2,feedback,c-1,2025-03-14T09:00:00Z,fax,billing,comment,x",
        'f-3,feedback,c-1,2025-03-14T09:00:00Z,app,billing,comment,"unterminated',
    ]
    result, sent, rejected = run(read_csv(io.BytesIO("\n".join([header, *rows]).encode())))
    assert [number for number, _ in rejected] == [5, 6]
    assert "CSV:" in rejected[1][1]
    assert orjson.loads(sent[0][1])["comment"] == "two\nlines"


def test_csv_cell_that_is_not_utf8_is_refused_for_its_row_only():
    data = f"{HEADER}\n".encode() + ROW.replace("billing", "bill\xff").encode("latin-1") + b"\n" + ROW.encode() + b"\n"
    result, sent, rejected = run(read_csv(io.BytesIO(data)))
    assert rejected == [(2, "not valid UTF-8")] and len(sent) == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "empty"),
        (HEADER + ",colour", "unknown column 'colour'"),
        (HEADER + ",priority", "column 'priority' appears twice"),
        ("event_id,event_type,customer_id,occurred_at,channel", "missing column(s) service_type"),
    ],
)
def test_a_bad_csv_header_stops_before_anything_is_read(header, message):
    with pytest.raises(ProducerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_csv(io.BytesIO(f"{header}\n{ROW}\n".encode() if header else b""))


# --- formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "explicit", "expected"),
    [
        ("events.jsonl", None, "jsonl"),
        ("EVENTS.NDJSON", None, "jsonl"),
        ("events.json", None, "jsonl"),
        ("day.jsonl.gz", None, "jsonl"),
        ("events.csv", None, "csv"),
        ("events.csv.gz", None, "csv"),
        ("-", None, "jsonl"),
        ("-", "csv", "csv"),
        ("events.txt", "jsonl", "jsonl"),
    ],
)
def test_format_comes_from_the_extension_or_the_flag(name, explicit, expected):
    assert format_of(name, explicit) == expected


def test_an_unknown_extension_needs_the_flag():
    with pytest.raises(ProducerError, match="--format"):
        format_of("events.txt", None)


def test_gzip_streams_read_like_plain_ones():
    data = gzip.compress(jl() + b"\n")
    ((record),) = list(read_jsonl(gzip.GzipFile(fileobj=io.BytesIO(data))))
    assert record == Record(1, jl(), offset=len(jl()) + 1)
