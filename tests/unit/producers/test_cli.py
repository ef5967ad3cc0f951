"""``cxpulse simulate`` and ``cxpulse produce`` without a broker: dry runs, --check, and every refusal."""

import io
import sys

import orjson
import pytest

from cxpulse.cli import main
from cxpulse.schemas import parse_event

ANCHOR = "2025-03-14T18:00:00+08:00"


def cxpulse(capfdbinary, *argv: str) -> tuple[int, bytes, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out, err = capfdbinary.readouterr()
    return exit_.value.code, out, err.decode()


def test_dry_run_writes_valid_jsonl_to_stdout_and_the_summary_to_stderr(capfdbinary):
    code, out, err = cxpulse(capfdbinary, "simulate", "--dry-run", "--anchor", ANCHOR, "--customers", "150", "--seed", "5")
    lines = out.splitlines()
    assert code == 0 and len(lines) > 200
    for line in lines:
        parse_event(line)
    assert "events" in err and "written to stdout" in err


def test_dry_run_with_a_fixed_anchor_is_byte_identical_and_writes_ground_truth(capfdbinary, tmp_path):
    args = ["simulate", "--dry-run", "--anchor", ANCHOR, "--customers", "300", "--seed", "9"]
    cxpulse(capfdbinary, *args, "--out", str(tmp_path / "a.jsonl"), "--ground-truth", str(tmp_path / "a.json"))
    code, out, _ = cxpulse(capfdbinary, *args, "--out", str(tmp_path / "b.jsonl"))
    assert code == 0 and b"written to" in out
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    truth = orjson.loads((tmp_path / "a.json").read_bytes())
    ids = {orjson.loads(line)["event_id"] for line in (tmp_path / "a.jsonl").read_bytes().splitlines()}
    assert truth["struggling"] and truth["outage"]["customers"]
    assert all(set(p["event_ids"]) <= ids for entry in truth["struggling"] for p in entry["patterns"])


def test_count_caps_the_events(capfdbinary):
    code, out, err = cxpulse(capfdbinary, "simulate", "--dry-run", "--anchor", ANCHOR, "--count", "25")
    assert code == 0 and len(out.splitlines()) == 25 and "stopped by --count" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["simulate", "--out", "x.jsonl"], 1, "--out only applies with --dry-run"),
        (["simulate", "--dry-run", "--anchor", "yesterday"], 1, "is not an RFC 3339 time"),
        (["simulate", "--dry-run", "--anchor", "2025-03-14T18:00:00"], 1, "needs a UTC offset"),
        (["simulate", "--dry-run", "--anchor", "2999-01-01T00:00:00Z"], 1, "in the future"),
        (["simulate", "--dry-run", "--customers", "0"], 2, "--customers"),
        (["simulate", "--dry-run", "--struggling", "2"], 2, "--struggling"),
        (["simulate", "--dry-run", "--ground-truth", "no/such/dir/gt.json"], 1, "does not exist"),
        (["produce", "no-such-file.jsonl"], 1, "no such file"),
        (["produce", "."], 1, "not a regular file"),
        (["produce", "events.txt"], 1, "no such file"),
        (["produce", "-", "--on-error", "later"], 2, "--on-error"),
        (["produce", "-", "--format", "xml"], 2, "--format"),
    ],
)
def test_bad_options_fail_in_one_line_and_produce_nothing(capfdbinary, argv, code, message):
    got, out, err = cxpulse(capfdbinary, *argv)
    assert got == code and out == b""
    assert message in err and err.count("\n") == 1 and err.startswith("cxpulse: error:")


def test_an_unknown_extension_is_named(capfdbinary, tmp_path):
    (tmp_path / "events.txt").write_text("{}\n")
    code, _, err = cxpulse(capfdbinary, "produce", str(tmp_path / "events.txt"), "--check")
    assert code == 1 and "--format" in err


def test_check_reports_each_bad_line_and_exits_non_zero(capfdbinary, tmp_path):
    good = b'{"event_id":"e1","event_type":"ticket","customer_id":"c1","occurred_at":"2025-03-14T09:00:00Z","channel":"web","service_type":"repair","ticket_id":"t1","action":"opened"}'
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([good, b"nope", good.replace(b'"web"', b'"fax"'), good]) + b"\n")
    code, out, err = cxpulse(capfdbinary, "produce", str(path), "--check")
    assert code == 1
    bad = [line for line in err.splitlines() if line.startswith("line ")]
    assert bad[0].startswith("line 2: not valid JSON") and bad[1].startswith("line 3: channel:") and len(bad) == 2
    assert "2 invalid record(s) refused" in err.splitlines()[-1]
    assert b"none (--check: 2 valid)" in out


def test_a_bad_csv_header_is_refused_before_connecting(capfdbinary, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_id,colour\n1,red\n")
    code, out, err = cxpulse(capfdbinary, "produce", str(path))
    assert code == 1 and "unknown column 'colour'" in err and err.count("\n") == 1


def test_stdin_is_read_with_a_dash(capfdbinary, monkeypatch):
    data = b'{"event_id":"e1","event_type":"feedback","customer_id":"c1","occurred_at":"2025-03-14T09:00:00Z","channel":"app","service_type":"billing","survey":"nps","score":10}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = cxpulse(capfdbinary, "produce", "-", "--check")
    assert code == 0 and b"none (--check: 1 valid)" in out


def test_new_token_with_the_read_scope_prints_an_entry_that_loads_and_reads(capfdbinary):
    import tomllib

    from cxpulse.processors.worker.access import ReadAccess
    from cxpulse.producers.settings import GatewayToken

    code, out, _ = cxpulse(capfdbinary, "ingest", "new-token", "desk", "--scope", "read")
    text = out.decode()
    token = text.split(": ", 1)[1].split("\n", 1)[0]
    entry = GatewayToken(**tomllib.loads(text[text.index("[[gateway.tokens]]"):])["gateway"]["tokens"][0])
    assert code == 0 and entry.scopes == ["read"]
    assert ReadAccess([entry]).check(f"Bearer {token}", "10.0.0.1") is None
    code, _, err = cxpulse(capfdbinary, "ingest", "new-token", "desk", "--scope", "write")
    assert code == 1 and "--scope must be ingest, read or console" in err
    code, out, _ = cxpulse(capfdbinary, "ingest", "new-token", "supervisors", "--scope", "console")
    assert code == 0 and b'scopes = ["console"]' in out


@pytest.mark.parametrize("tokens", [
    [{"name": "desk", "sha256": "a" * 64, "scopes": ["read"]}],
    [{"name": "desk", "sha256": "a" * 64, "scopes": ["read"]}, {"name": "sup", "sha256": "b" * 64, "scopes": ["console"]}],
    [{"name": "old", "sha256": "c" * 64, "scopes": ["ingest"], "revoked": True}],
], ids=["read-only", "read-and-console", "ingest-but-revoked"])
def test_the_gateway_does_not_start_without_a_token_that_may_send_events(capfdbinary, monkeypatch, tokens):
    import json

    from aiohttp import web

    monkeypatch.setenv("CXPULSE_GATEWAY__TOKENS", json.dumps(tokens))
    monkeypatch.setattr(web, "run_app", lambda *args, **kwargs: pytest.fail("the gateway started"))
    code, _, err = cxpulse(capfdbinary, "ingest", "serve")
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("cxpulse: error: no token in [gateway] tokens may send events")
