"""Line reading from (multi-member) gzip files, optionally only their first bytes.

Archive files grow by appending gzip members; a reader must stop at the length the
manifest calls durable, since the writer may be appending past it. ``gzip.GzipFile``
reads members one after another and splits lines in C, which is faster than anything
done per line in Python; :class:`_Prefix` limits what it sees.
"""

import gzip
from collections.abc import Callable, Iterator
from typing import IO

__all__ = ["gzip_lines"]


class _Prefix:
    """The first ``length`` bytes of a binary stream (all of it for ``None``)."""

    __slots__ = ("_stream", "_left", "_progress")

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


def gzip_lines(stream: IO[bytes], length: int | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Lines (each ending in ``b"\\n"``, except perhaps the last) of the gzip data in
    ``stream``, up to ``length`` bytes of it.

    Raises ``EOFError`` when the data ends inside a gzip member, ``gzip.BadGzipFile``
    when it is not gzip. ``progress(n)`` is called with the compressed bytes read.
    """
    with gzip.GzipFile(fileobj=_Prefix(stream, length, progress), mode="rb") as lines:  # type: ignore[arg-type]
        yield from lines
