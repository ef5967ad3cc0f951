"""Fast line reading from (multi-member) gzip files, optionally only their first bytes.

``gzip.GzipFile`` iterates lines one ``readline`` call at a time; decompressing large
blocks and splitting them is several times faster, which matters to replay speed.
"""

import zlib
from collections.abc import Callable, Iterator
from typing import IO

__all__ = ["gzip_lines"]

BLOCK = 1 << 20
_GZIP = 16 + zlib.MAX_WBITS


class _Members:
    """Inflates a sequence of gzip members fed in arbitrary blocks."""

    __slots__ = ("_inflate", "_fed")

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(_GZIP)
        self._fed = False  # the current member has received input

    def feed(self, block: bytes) -> bytes:
        out = [self._inflate.decompress(block)]
        self._fed = True
        while self._inflate.eof:
            rest = self._inflate.unused_data
            self._inflate = zlib.decompressobj(_GZIP)
            self._fed = bool(rest)
            if not rest:
                break
            out.append(self._inflate.decompress(rest))
        return b"".join(out)

    @property
    def complete(self) -> bool:
        """The data ended on a member boundary."""
        return not self._fed


def gzip_lines(stream: IO[bytes], length: int | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Lines (without the newline) of the gzip data in ``stream``, up to ``length`` bytes.

    Raises ``EOFError`` when the data ends inside a gzip member, ``zlib.error`` when it is
    not gzip. ``progress(n)`` is called with each block's compressed size.
    """
    left = length
    carry = b""
    members = _Members()
    while left is None or left > 0:
        block = stream.read(BLOCK if left is None else min(BLOCK, left))
        if not block:
            break
        if left is not None:
            left -= len(block)
        if progress is not None:
            progress(len(block))
        lines = (carry + members.feed(block)).split(b"\n")
        carry = lines.pop()
        yield from lines
    if not members.complete:
        raise EOFError("the gzip data ends in the middle of a member")
    if carry:
        yield carry
