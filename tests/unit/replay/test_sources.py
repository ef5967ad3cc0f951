"""File sources: archive files are told from event files; CSV and JSONL events are read."""

import gzip

import orjson
import pytest

from cxpulse.processors.archive import SourceRecord, encode_line
from cxpulse.processors.replay.errors import ReplayError
from cxpulse.processors.replay.sources import open_path

from .factories import simulated_values

VALUES = simulated_values(customers=30, days=2, seed=4)[:40]


def read(path, since=None, until=None):
    counted = []
    opened = open_path(path, since, until, None, counted.append)
    records = [r for s in opened.streams for r in s]
    return opened, records, sum(counted)


def test_an_archive_file_keeps_kafka_coordinates(tmp_path):
    path = tmp_path / "cx.events-2.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(encode_line(SourceRecord(2, i, 1000 + i, b"k", v))
                                            for i, v in enumerate(VALUES))))

    opened, records, progress = read(path)
    _, clipped, _ = read(path, since=1010, until=1020)

    assert opened.timed and [(r.partition, r.offset) for r in records] == [(2, i) for i in range(40)]
    assert progress == path.stat().st_size
    assert [r.offset for r in clipped] == list(range(10, 20))


def test_a_jsonl_event_file_is_replayed_whole(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(VALUES) + b"\n\nnot json\n")

    opened, records, _ = read(path)

    assert not opened.timed
    assert [r.value for r in records] == [*VALUES, b"not json"]
    assert records[-1].offset == 42  # the line number, for the invalid report


def test_a_csv_event_file_uses_the_producers_reader(tmp_path):
    rows = [orjson.loads(v) for v in VALUES if orjson.loads(v)["event_type"] == "call"][:5]
    columns = list(rows[0])
    text = ",".join(columns) + "\n" + "".join(",".join(str(r.get(c, "")) for c in columns) + "\n" for r in rows)
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress((text + "only,two\n").encode()))

    _, records, _ = read(path)

    assert [orjson.loads(r.value)["event_id"] for r in records[:5]] == [r["event_id"] for r in rows]
    assert records[5].value is None and "cells" in records[5].problem


def test_plain_events_have_no_record_times_to_select_a_range(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(VALUES[0])

    with pytest.raises(ReplayError, match="--since/--until"):
        open_path(path, 1, None, None, lambda n: None)


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(ReplayError, match="does not exist"):
        open_path(tmp_path / "nothing.jsonl", None, None, None, lambda n: None)
