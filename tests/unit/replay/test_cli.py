"""``cxpulse replay``/``customer``/``archive`` on files: outputs, and one-line errors for bad input.

Nothing here needs a broker: every error below is found before Kafka is asked anything.
"""

import gzip

import orjson
import pytest

from cxpulse.cli import main
from cxpulse.processors.archive import SourceRecord, encode_line

from .factories import simulated_values

VALUES = simulated_values(customers=150, days=4, seed=8)


@pytest.fixture(autouse=True)
def no_config(monkeypatch, tmp_path):
    for name in ("CXPULSE_CONFIG", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def events(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(VALUES) + b"\n{broken\n")
    return path


def test_replay_of_an_event_file_writes_every_output(capsys, events, tmp_path):
    code, out, err = cli(capsys, "replay", "--from", str(events), "--out", "run")

    assert code == 0, err
    assert "Replay of event file events.jsonl" in out and "Alerts (" in out and "healthy" in out
    summary = orjson.loads((tmp_path / "run/summary.json").read_bytes())
    assert summary["events"]["read"] == len(VALUES) + 1 and summary["events"]["invalid"] == 1
    assert summary["partial"] is False
    alerts = (tmp_path / "run/alerts.jsonl").read_bytes().splitlines()
    assert len(alerts) == summary["alerts"]["total"] > 0
    scores = [orjson.loads(line) for line in (tmp_path / "run/scores.jsonl").read_bytes().splitlines()]
    assert len(scores) == summary["customers"]["total"] and scores == sorted(scores, key=lambda s: s["customer_id"])
    (letter,) = [orjson.loads(line) for line in (tmp_path / "run/invalid.jsonl").read_bytes().splitlines()]
    assert letter["raw"] == "{broken" and letter["error"].startswith("not valid JSON")


def test_new_settings_change_the_outcome(capsys, events, tmp_path):
    (tmp_path / "new.toml").write_text("[engine]\nrepeat_warning_at = 2\n")

    cli(capsys, "replay", "--from", str(events), "--out", "base")
    code, out, _ = cli(capsys, "replay", "--from", str(events), "--settings", "new.toml", "--out", "new")

    assert code == 0 and "setting: engine.repeat_warning_at 3 -> 2" in out
    count = [orjson.loads((tmp_path / d / "summary.json").read_bytes())["alerts"]["by_rule"]["repeat_contact"]
             for d in ("base", "new")]
    assert sum(count[1].values()) > sum(count[0].values())


def test_customer_timeline_from_an_archive_file(capsys, tmp_path):
    customer = orjson.loads(VALUES[5])["customer_id"]
    path = tmp_path / "cx.events-0.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(
        encode_line(SourceRecord(0, i, 1741600000000 + i, orjson.loads(v)["customer_id"].encode(), v))
        for i, v in enumerate(VALUES))))

    code, out, err = cli(capsys, "customer", customer, "--archive", str(path), "--json")

    assert code == 0, err
    data = orjson.loads(out)
    expected = [orjson.loads(v)["event_id"] for v in VALUES if orjson.loads(v)["customer_id"] == customer]
    assert [r["event"]["event_id"] for r in data["rows"] if r["kind"] == "event"] == expected
    assert data["final"]["events_seen"] == len(expected)


@pytest.mark.parametrize(("args", "message"), [
    (["replay", "--since", "yesterday"], "--since 'yesterday' is not a time"),
    (["replay", "--since", "2025-03-05", "--until", "2025-03-04"], "must be before --until"),
    (["replay", "--warmup", "30d"], "--warmup needs --since"),
    (["replay", "--customer", "a b"], "is not a customer id"),
    (["replay", "--from", "missing.jsonl"], "missing.jsonl does not exist"),
    (["replay", "--from", "events.jsonl", "--diff"], "--diff needs record times"),
    (["replay", "--from", "events.jsonl", "--settings", "missing.toml"], "settings file missing.toml does not exist"),
    (["replay", "--from", "events.jsonl", "--since", "7d"], "holds plain events without Kafka record times"),
    (["replay", "--to-topic", "staging", "--diff"], "--to-topic only copies records"),
    (["replay", "--from", "events.jsonl", "--to-topic", "staging"], "use 'cxpulse produce FILE"),
    (["replay", "--from", "."], "has no manifest.json"),
    (["replay", "--grace", "soon"], "is not a duration"),
    (["replay", "--workers", "2"], "--workers replays an archive directory"),
    (["replay", "--from", "events.jsonl", "--workers", "2"], "--workers replays an archive directory"),
    (["replay", "--to-topic", "staging", "--workers", "2"], "--to-topic only copies records"),
    (["customer", "not valid!"], "is not a customer id"),
    (["customer", "C-1", "--archive", "nowhere"], "nowhere does not exist"),
    (["archive", "--dir", "events.jsonl", "--once"], "cannot create archive directory"),
])
def test_bad_input_is_one_line_and_exit_1(capsys, events, args, message):
    code, out, err = cli(capsys, *args)

    assert code == 1
    assert err.count("\n") == 1 and err.startswith("cxpulse: error: ") and message in err, err


@pytest.mark.parametrize(("name", "text"), [
    ("notes.txt", "hello world\nnot an event\n"),
    ("other.jsonl", '{"id": 1, "kind": "order"}\n{"id": 2, "kind": "order"}\n'),
], ids=["text", "other-json"])
def test_replay_from_a_file_of_no_events_is_a_one_line_error(capsys, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    code, out, err = cli(capsys, "replay", "--from", str(path))

    assert code == 1 and out == ""
    assert err.startswith(f"cxpulse: error: {path} holds no events: none of its 2 record(s) is one")
    assert err.count("\n") == 1


def test_replay_from_a_csv_event_file(capsys, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("event_id,event_type,customer_id,occurred_at,channel,service_type,direction,wait_seconds,"
                    "talk_seconds,outcome\n"
                    "e1,call,C-1,2026-01-01T10:00:00Z,phone,billing,inbound,10,60,resolved\n", encoding="utf-8")

    code, out, err = cli(capsys, "replay", "--from", str(path))

    assert code == 0, err
    assert "Replay of event file calls.csv" in out and "Traceback" not in err


def test_customer_not_in_the_source_is_a_one_line_error(capsys, events):
    code, out, err = cli(capsys, "customer", "NOBODY-HERE", "--archive", str(events))

    assert code == 1 and out == ""
    assert err.startswith("cxpulse: error: no events of customer 'NOBODY-HERE' in ")
    assert err.count("\n") == 1


def test_customer_not_in_the_source_is_an_error_in_json_too(capsys, events):
    code, out, _ = cli(capsys, "customer", "NOBODY-HERE", "--archive", str(events), "--json")

    assert code == 1 and out == ""
