"""``--since``/``--until`` parsing."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cxpulse.processors.replay.errors import ReplayError
from cxpulse.processors.replay.timerange import parse_duration, parse_moment, parse_range, to_ms

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("7d", NOW - timedelta(days=7)),
    ("36h", NOW - timedelta(hours=36)),
    ("90m", NOW - timedelta(minutes=90)),
    ("45s", NOW - timedelta(seconds=45)),
    ("2w", NOW - timedelta(days=14)),
    ("1.5h", NOW - timedelta(minutes=90)),
    ("2025-03-04", datetime(2025, 3, 4, tzinfo=UTC)),
    ("2025-03-04T09:00:00Z", datetime(2025, 3, 4, 9, tzinfo=UTC)),
    ("2025-03-04t09:00:00z", datetime(2025, 3, 4, 9, tzinfo=UTC)),
    ("2025-03-04T09:00:00+01:00", datetime(2025, 3, 4, 9, tzinfo=timezone(timedelta(hours=1)))),
    ("2025-03-04T09:00:00.250Z", datetime(2025, 3, 4, 9, 0, 0, 250000, tzinfo=UTC)),
])
def test_moments(text, expected):
    assert parse_moment(text, NOW) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("2025-03-04T09:00:00", "no UTC offset"),
    ("yesterday", "not a time"),
    ("2025-02-30", "day is out of range"),
    ("7 days", "not a time"),
    ("-7d", "not a time"),
])
def test_bad_moments_say_what_to_write(text, message):
    with pytest.raises(ReplayError, match=message):
        parse_moment(text, NOW, "--since")


def test_durations():
    assert parse_duration("30d") == timedelta(days=30)
    with pytest.raises(ReplayError, match="duration"):
        parse_duration("30")


def test_a_range_must_run_forward():
    with pytest.raises(ReplayError, match="must be before"):
        parse_range("2025-03-05", "2025-03-04", NOW)
    assert parse_range(None, "1d", NOW) == (None, NOW - timedelta(days=1))


def test_milliseconds_are_kafka_timestamps():
    assert to_ms(datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)) == 1500
