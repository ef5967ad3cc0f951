"""Where archive files live: ``DIR/YYYY-MM-DD/<topic>-<partition>.jsonl.gz``.

A record goes to the file of its partition for the UTC day of its Kafka timestamp — but a
partition's day never goes back: a record stamped before midnight that arrives after the
partition's first record of the next day stays in the later file. So each partition's
files, in day order, hold its records in offset order, and a time range maps to whole days.
"""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath

__all__ = ["MANIFEST", "day_of", "file_name", "parse_file_name", "retired_days", "days_to_read"]

MANIFEST = "manifest.json"
SUFFIX = ".jsonl.gz"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})/(.+)-(\d+)\.jsonl\.gz$")
_MS_PER_DAY = 86_400_000


def day_of(timestamp_ms: int) -> str:
    """``YYYY-MM-DD``, the UTC day of a Kafka timestamp."""
    return (date(1970, 1, 1) + timedelta(days=timestamp_ms // _MS_PER_DAY)).isoformat()


def file_name(day: str, topic: str, partition: int) -> str:
    """The file's path relative to the archive directory (always ``/``-separated)."""
    return f"{day}/{topic}-{partition}{SUFFIX}"


def parse_file_name(name: str) -> tuple[str, str, int] | None:
    """``(day, topic, partition)`` of a relative archive path, or ``None`` if it is not one."""
    match = _NAME.match(str(PurePosixPath(name)))
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3))


def days_to_read(file_days: list[str], since_ms: int | None, until_ms: int | None) -> list[str]:
    """The days (of one partition's files) that can hold records of ``[since, until)``.

    Files of days before ``since``'s day hold only records stamped before ``since`` that
    precede the range; files of days after ``until``'s day begin with a record stamped at
    or after ``until``, where the range has ended (see the module docstring).
    """
    low = day_of(since_ms) if since_ms is not None else None
    high = day_of(until_ms) if until_ms is not None else None
    return [d for d in sorted(file_days) if (low is None or d >= low) and (high is None or d <= high)]


def retired_days(file_days: list[str], keep_days: int, today: str) -> list[str]:
    """Days before the last ``keep_days`` days, today included (``keep_days`` 0: none)."""
    if keep_days <= 0:
        return []
    first_kept = datetime.fromisoformat(today).replace(tzinfo=UTC) - timedelta(days=keep_days - 1)
    limit = first_kept.date().isoformat()
    return sorted(d for d in set(file_days) if d < limit)
