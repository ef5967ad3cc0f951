"""Text from a record made safe for one line of a log, a console or a dead-letter reason.

A field name, a tag or an exception message can come from whoever wrote the record. Written
as is, a newline forges a log line, ANSI escape codes recolour or erase a terminal, and
bidirectional controls reorder what an operator reads. :func:`one_line` escapes every such
character (``\\n`` -> ``\\x0a``, U+202E -> ``\\u202e``) and caps the length, so the text
stays one printable line that still shows what was there.
"""

import re

__all__ = ["UNSAFE", "one_line"]

# Control characters (C0, DEL, C1), line and paragraph separators, bidirectional controls,
# and the backslash itself (so that an escape in the output is never the input's own text).
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str, limit: int = 200) -> str:
    """``text`` with unsafe characters escaped, cut to ``limit`` characters (``…`` marks a cut)."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return UNSAFE.sub(_escape, text)
