"""``cxpulse produce FILE --source NAME``: another system's records, mapped, validated, counted."""

import io
import json
from pathlib import Path

import orjson
import pytest

from cxpulse.cli import main
from cxpulse.producers.fileimport import import_records, read_jsonl
from cxpulse.producers.mapping import load_source
from cxpulse.producers.sink import JsonlSink
from cxpulse.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "sources" / "samples"


def jsonl(name: str) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in json.loads((SAMPLES / f"{name}.json").read_text()))


def test_each_line_becomes_its_events_skipped_or_a_rejected_line():
    out = io.BytesIO()
    rejected: list[tuple[int, str]] = []
    mapper = load_source("salesforce-case", Settings())
    result = import_records(read_jsonl(io.BytesIO(jsonl("salesforce-case"))), JsonlSink(out), mapper=mapper,
                            reject=lambda line, reason: rejected.append((line, reason)))  # fmt: skip
    assert (result.read, result.produced, result.skipped, result.rejected) == (6, 4, 1, 1)
    assert [line for line, _ in rejected] == [6] and rejected[0][1].startswith("source salesforce-case, rule changed:")
    assert [orjson.loads(line)["action"] for line in out.getvalue().splitlines()] == ["opened"] * 3 + ["escalated"]


def test_the_command_checks_a_file_through_a_preset(tmp_path, capfd, monkeypatch):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(jsonl("zendesk"))
    with pytest.raises(SystemExit) as done:
        main(["produce", str(path), "--source", "zendesk", "--check"])
    out, err = capfd.readouterr()
    assert done.value.code == 0, err
    assert "none (--check: 6 valid)" in out and "2 (source zendesk ignores them)" in out


def test_csv_with_a_source_is_refused_in_one_line(tmp_path, capfd):
    path = tmp_path / "cases.csv"
    path.write_text("event_id\n", encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        main(["produce", str(path), "--source", "zendesk", "--check"])
    assert done.value.code == 1
    assert capfd.readouterr().err.strip() == "cxpulse: error: --source reads JSONL: one JSON record of the source system per line"
