"""Line reading from multi-member gzip data, whole or only its durable prefix."""

import gzip
import io

import pytest

from cxpulse.processors.archive.gzlines import gzip_lines


def members(lines: list[bytes], size: int) -> bytes:
    return b"".join(gzip.compress(b"".join(line + b"\n" for line in lines[i:i + size]), mtime=0)
                    for i in range(0, len(lines), size))


LINES = [f"line {i} ".encode() * (i % 40 + 1) for i in range(5000)]


WITH_NEWLINES = [line + b"\n" for line in LINES]


@pytest.mark.parametrize("size", [1, 7, 777, 5000])
def test_every_line_of_every_member_in_order(size):
    assert list(gzip_lines(io.BytesIO(members(LINES, size)))) == WITH_NEWLINES


def test_only_the_first_length_bytes_are_read():
    data = members(LINES, 100)

    assert list(gzip_lines(io.BytesIO(data + b"torn tail \x1f\x8b\x08"), len(data))) == WITH_NEWLINES


def test_data_ending_inside_a_member_is_an_error():
    data = members(LINES, 1000)

    with pytest.raises(EOFError):
        list(gzip_lines(io.BytesIO(data[:-3])))


def test_progress_counts_compressed_bytes():
    data = members(LINES, 100)
    seen = []

    list(gzip_lines(io.BytesIO(data), progress=seen.append))

    assert sum(seen) == len(data)


def test_empty_input_has_no_lines():
    assert list(gzip_lines(io.BytesIO(b""))) == []


def test_data_that_is_not_gzip_is_an_error():
    with pytest.raises(gzip.BadGzipFile):
        list(gzip_lines(io.BytesIO(b'{"partition": 0}\n')))
