"""Line reading from (multi-member) gzip files, optionally only their first bytes.

Archive files grow by appending gzip members; a reader must stop at the length the
manifest calls durable, since the writer may be appending past it. A ``GzipFile`` reads
members one after another and splits lines in C, which is faster than anything done per
line in Python; :class:`_Prefix` limits what it sees. Inflating is most of a line's cost, so
the ISA-L ``GzipFile`` of the ``isal`` package (the same interface and format, 2-3 times
zlib's speed; see docs/benchmarks.md, "Replay") is used when it is installed, the standard
library's otherwise: the lines are the same bytes either way.
"""

import gzip
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

try:
    from isal import igzip as _gzip
    from isal.isal_zlib import error as _isal_error
except ImportError:  # pragma: no cover - isal is a dependency; a build without it still reads
    _gzip, _isal_error = gzip, zlib.error  # type: ignore[assignment,misc]

__all__ = ["GZIP_ERRORS", "gzip_lines", "inflater"]

# What reading damaged gzip data raises, with either inflater (a torn member: EOFError).
GZIP_ERRORS: tuple[type[Exception], ...] = (EOFError, zlib.error, gzip.BadGzipFile, _isal_error)  # type: ignore[assignment]


def inflater() -> str:
    """Which ``GzipFile`` reads archives: ``"isal"`` or ``"zlib"`` (for reports and tests)."""
    return "zlib" if _gzip is gzip else "isal"


class _Prefix:
    """The first ``length`` bytes of a binary stream (all of it for ``None``)."""

    __slots__ = ("_left", "_progress", "_stream")

    def __init__(self, stream: IO[bytes], length: int | None, progress: Callable[[int], None] | None) -> None:
        self._stream, self._left, self._progress = stream, length, progress

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            if self._left <= 0:
                return b""
            size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size)
        if self._left is not None:
            self._left -= len(data)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        # ISA-L's reader fills its buffer with readinto when the stream has one.
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def gzip_lines(stream: IO[bytes], length: int | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Lines (each ending in ``b"\\n"``, except perhaps the last) of the gzip data in
    ``stream``, up to ``length`` bytes of it.

    Raises one of :data:`GZIP_ERRORS` when the data is damaged (``EOFError`` when it ends
    inside a gzip member, ``gzip.BadGzipFile`` when it is not gzip). ``progress(n)`` is
    called with the compressed bytes read.
    """
    with _gzip.GzipFile(fileobj=_Prefix(stream, length, progress), mode="rb") as lines:
        yield from lines
