"""Dead letters grouped by reason: how many, since and until when, an example, from where.

Reasons of invalid events may quote what was wrong (a timestamp, a number, a tag);
:func:`reason_group` folds those so that letters with the same problem share a group.
Reasons of source mappings name fields and expressions only and are kept as they are.
"""

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .letters import Letter

__all__ = ["Group", "explain", "reason_group"]

_FOLDS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?"), "<time>"),
    (re.compile(r", got [^;]*"), ""),
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),
    (re.compile(r"\b(position|line|column|char|byte) \d+\b"), r"\1 N"),
)


def reason_group(reason: str) -> str:
    """``reason`` with quoted values, timestamps and positions folded (see the module docstring)."""
    if reason.startswith("source "):
        return reason
    for pattern, replacement in _FOLDS:
        reason = pattern.sub(replacement, reason)
    return reason


@dataclass
class Group:
    """Letters that share a reason."""

    reason: str
    count: int = 0
    first: Letter | None = None
    last: Letter | None = None
    sources: Counter[str] = field(default_factory=Counter)
    origins: Counter[str] = field(default_factory=Counter)

    def add(self, letter: Letter) -> None:
        self.count += 1
        if self.first is None:
            self.first = letter
        self.last = letter
        self.sources[letter.source or "-"] += 1
        self.origins[letter.letter.source_topic if letter.letter is not None else "-"] += 1


def explain(letters: Iterable[Letter]) -> list[Group]:
    """The groups, largest first (ties: the earliest first)."""
    groups: dict[str, Group] = {}
    for letter in letters:
        key = reason_group(letter.reason)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key)
        group.add(letter)
    return sorted(groups.values(), key=lambda g: -g.count)
