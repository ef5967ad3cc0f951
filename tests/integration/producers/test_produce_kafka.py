import orjson
import pytest

from cxpulse.schemas import parse_event


def event(i: int, **fields) -> dict:
    body = {
        "event_id": f"imp-{i}",
        "event_type": "call",
        "customer_id": f"cust-{i % 4}",
        "occurred_at": "2025-03-14T09:00:00+08:00",
        "channel": "phone",
        "service_type": "billing",
        "direction": "inbound",
        "wait_seconds": 30,
        "talk_seconds": 120,
        "outcome": "resolved",
    }
    body.update(fields)
    return body


def line(i: int, **fields) -> bytes:
    return orjson.dumps(event(i, **fields))


BAD = {
    3: b"{not json",
    5: line(5, channel="fax"),
    8: line(8, occurred_at="2999-01-01T00:00:00Z"),
    9: line(9, score=3),
}


def mixed_file(path, n=12):
    path.write_bytes(b"\n".join(BAD.get(i, line(i)) for i in range(1, n + 1)) + b"\n")
    return path


def test_bad_lines_are_refused_line_by_line_and_only_valid_events_arrive(
    settings_factory, config_file_factory, consume, cxpulse, event_schema, tmp_path
):
    settings = settings_factory(partitions=2)
    code, out, err = cxpulse("--config", config_file_factory(settings), "produce", mixed_file(tmp_path / "in.jsonl"))
    assert code == 1
    reported = [text for text in err.splitlines() if text.startswith("line ")]
    assert [int(text.split(":")[0].split()[1]) for text in reported] == sorted(BAD)
    assert "channel:" in reported[1] and "occurred_at:" in reported[2] and "score: unknown field" in reported[3]
    assert err.splitlines()[-1] == "cxpulse: error: 4 invalid record(s) refused"
    assert "8 acknowledged" in out.decode()

    records = consume(settings.topics.events, count=None, timeout=30)
    assert sorted(orjson.loads(r.value)["event_id"] for r in records) == sorted(f"imp-{i}" for i in range(1, 13) if i not in BAD)
    for record in records:
        event_schema.validate(orjson.loads(record.value))
        assert record.key == parse_event(record.value).customer_id.encode()


def test_on_error_stop_produces_nothing_after_the_bad_line(settings_factory, config_file_factory, consume, cxpulse, tmp_path):
    settings = settings_factory(partitions=1)
    code, out, err = cxpulse("--config", config_file_factory(settings), "produce", mixed_file(tmp_path / "in.jsonl"), "--on-error", "stop")
    assert code == 1
    assert [text for text in err.splitlines() if text.startswith("line ")] == [err.splitlines()[0]]
    assert err.splitlines()[0].startswith("line 3: ")
    assert "at line 3" in out.decode()
    records = consume(settings.topics.events, count=None, timeout=30)
    assert sorted(orjson.loads(r.value)["event_id"] for r in records) == ["imp-1", "imp-2"]


def test_csv_rows_arrive_as_json_events(settings_factory, config_file_factory, consume, cxpulse, event_schema, tmp_path):
    settings = settings_factory(partitions=1)
    path = tmp_path / "in.csv"
    path.write_text(
        "event_id,event_type,customer_id,occurred_at,channel,service_type,ticket_id,action,priority,is_complaint,due_at\n"
        "t-1,ticket,cust-1,2025-03-14T09:00:00Z,web,repair,T1,opened,high,true,2025-03-15T09:00:00Z\n"
        "t-2,ticket,cust-1,2025-03-14T10:00:00Z,web,repair,T1,resolved,,,\n"
    )
    code, out, err = cxpulse("--config", config_file_factory(settings), "produce", path)
    assert code == 0, err
    values = [orjson.loads(r.value) for r in consume(settings.topics.events, count=2, timeout=30)]
    for value in values:
        event_schema.validate(value)
    assert values[0]["is_complaint"] is True and values[0]["priority"] == "high"
    assert values[1] == {"event_id": "t-2", "event_type": "ticket", "customer_id": "cust-1", "occurred_at": "2025-03-14T10:00:00Z",
                         "channel": "web", "service_type": "repair", "ticket_id": "T1", "action": "resolved"}  # fmt: skip


def test_events_the_broker_refuses_are_counted_and_fail_the_import(
    settings_factory, config_file_factory, topic_factory, cxpulse, tmp_path
):
    settings = settings_factory(partitions=1)
    small = topic_factory(partitions=1, configs={"max.message.bytes": "1024"})
    path = tmp_path / "in.jsonl"
    big = event(2)
    for name in ("direction", "wait_seconds", "talk_seconds", "outcome"):
        del big[name]
    big.update(event_type="feedback", survey="comment", comment="x" * 1900)
    path.write_bytes(line(1) + b"\n" + orjson.dumps(big) + b"\n")
    code, out, err = cxpulse("--config", config_file_factory(settings), "produce", path, "--topic", small)
    assert code == 1
    assert "1 acknowledged" in out.decode() and "1 failed" in out.decode()
    assert "1 event(s) not delivered (MessageSizeTooLargeError x1)" in err.splitlines()[-1], err


@pytest.mark.parametrize("on_error", ["continue", "stop"])
def test_nothing_is_sent_when_the_csv_header_is_bad(settings_factory, config_file_factory, consume, cxpulse, tmp_path, on_error):
    settings = settings_factory(partitions=1)
    path = tmp_path / "in.csv"
    path.write_text("event_id,event_kind\n1,call\n")
    code, _, err = cxpulse("--config", config_file_factory(settings), "produce", path, "--on-error", on_error)
    assert code == 1 and "unknown column 'event_kind'" in err
    assert consume(settings.topics.events, count=None, timeout=5) == []
