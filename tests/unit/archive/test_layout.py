"""Archive paths, days, and which days a time range needs."""

from datetime import UTC, datetime

import pytest

from cxpulse.processors.archive.layout import day_of, days_to_read, file_name, parse_file_name, retired_days


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(("moment", "day"), [
    ("2025-03-04T00:00:00", "2025-03-04"),
    ("2025-03-04T23:59:59.999", "2025-03-04"),
    ("1970-01-01T00:00:00", "1970-01-01"),
])
def test_day_of_is_the_utc_day(moment, day):
    assert day_of(ms(moment)) == day


def test_file_names_round_trip():
    name = file_name("2025-03-04", "cx.events", 11)

    assert name == "2025-03-04/cx.events-11.jsonl.gz"
    assert parse_file_name(name) == ("2025-03-04", "cx.events", 11)
    assert parse_file_name("2025-03-04/notes.txt") is None
    assert parse_file_name("manifest.json") is None


@pytest.mark.parametrize(("since", "until", "expected"), [
    (None, None, ["2025-03-03", "2025-03-04", "2025-03-05"]),
    ("2025-03-04T10:00:00", None, ["2025-03-04", "2025-03-05"]),
    (None, "2025-03-04T00:00:00", ["2025-03-03", "2025-03-04"]),
    ("2025-03-04T01:00:00", "2025-03-04T02:00:00", ["2025-03-04"]),
    ("2025-03-06T00:00:00", None, []),
])
def test_days_to_read(since, until, expected):
    days = ["2025-03-05", "2025-03-03", "2025-03-04"]

    assert days_to_read(days, since and ms(since), until and ms(until)) == expected


def test_retired_days_keep_the_last_n_days():
    days = ["2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02"]

    assert retired_days(days, 2, "2025-03-02") == ["2025-02-27", "2025-02-28"]
    assert retired_days(days, 0, "2025-03-02") == []
