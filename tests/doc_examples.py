"""The command examples of README.md and docs/*.md, as a reader would copy them.

An example is a ``cxpulse ...`` command in a fenced code block (continuation lines
joined, ``$ `` prompts and trailing comments dropped) or in an inline code span. Shell
lines with pipes, ``&&``, ``&`` and redirections are split into their commands; leading
``NAME=value`` assignments are kept apart. Usage synopses (``cxpulse replay [--from PATH
| ...]``, ``cxpulse dlq explain [filters]``) are not examples and are recognised by their
brackets: ``[--`` or a bracketed word.
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import orjson

__all__ = ["DOCS", "Example", "examples", "shell_lines", "zendesk_export"]

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(r"(?<!`)`(cxpulse [^`\n]+)`(?!`)")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_PLACEHOLDER = re.compile(r"<([a-z][^<>]*)>")  # <data dir>: a value the reader fills in
_SYNOPSIS = re.compile(r"\[--|\[[a-z][a-z -]*\]|\.\.\.")  # [--flag ...], [filters], an elision


@dataclass(frozen=True)
class Example:
    """One documented command: where it is, its shell line, and the argv after ``cxpulse``."""

    doc: str
    line: int
    shell: str  # the whole shell line it came from
    env: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    inline: bool

    @property
    def key(self) -> str:
        return "cxpulse " + " ".join(self.args)

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.key}"


def shell_lines(text: str) -> list[tuple[int, str]]:
    """(line number, shell line) of every command line in the fenced code blocks of ``text``."""
    found = []
    for block in _FENCE.finditer(text):
        start = text.count("\n", 0, block.start(2)) + 1
        lines = block.group(2).split("\n")
        index = 0
        while index < len(lines):
            number, line = start + index, lines[index]
            while line.rstrip().endswith("\\") and index + 1 < len(lines):
                index += 1
                line = line.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
            stripped = line.strip().removeprefix("$ ")
            if stripped and not stripped.startswith("#"):
                found.append((number, stripped))
    return found


def _commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line, as word lists (comments and redirections dropped)."""
    line = _PLACEHOLDER.sub(lambda match: match.group(1).replace(" ", "-").upper(), line)
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError:
        return []
    commands, current, skip_next = [], [], False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word in (">", ">>", "<", "2>", "&>"):
            skip_next = True  # the redirection's target
            continue
        if set(word) <= set(";&|"):
            commands.append(current)
            current = []
            continue
        current.append(word)
    commands.append(current)
    return [command for command in commands if command]


def _cxpulse(words: list[str]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]] | None:
    env = []
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words[0].partition("=")
        env.append((name, value))
        words = words[1:]
    if not words or words[0] != "cxpulse":
        return None
    return tuple(env), tuple(words[1:])


def _alternatives(span: str) -> list[str]:
    """``cxpulse kafka up / down / status`` (a table's shorthand) as its three commands."""
    if " / " not in span:
        return [span]
    first, *others = span.split(" / ")
    base = first.rsplit(" ", 1)[0]
    return [first, *(f"{base} {other.strip()}" for other in others)]


def examples() -> list[Example]:
    """Every documented ``cxpulse`` command, synopses left out."""
    found: list[Example] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        doc = path.relative_to(ROOT).as_posix()
        candidates = [(number, line, False) for number, line in shell_lines(text)]
        for match in _INLINE.finditer(text):
            number = text.count("\n", 0, match.start()) + 1
            candidates += [(number, command, True) for command in _alternatives(match.group(1))]
        for number, line, inline in candidates:
            if _SYNOPSIS.search(line):
                continue  # a usage synopsis or an elided example, not a command to copy
            for words in _commands(line):
                parsed = _cxpulse(words)
                if parsed is not None:
                    found.append(Example(doc, number, line, parsed[0], parsed[1], inline))
    return found


def zendesk_export(path: Path) -> Path:
    """Zendesk's documented sample payloads (tests/sources/samples) as an export file, one record a line."""
    records = orjson.loads((ROOT / "tests/sources/samples/zendesk.json").read_bytes())
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


# Every fenced example is run by a test, or listed here with why not. Keys: Example.key.
RUN_HERE = {  # tests/unit/test_doc_examples.py, no broker
    "cxpulse simulate --dry-run --anchor 2025-03-14T18:00:00+08:00 --seed 7",
    "cxpulse simulate --dry-run --count 10",
    "cxpulse ingest new-token crm",
    "cxpulse sources list",
    "cxpulse sources map zendesk export.jsonl",
}
# docs/backtest.md's run on the simulator, as written, and its figures checked: no broker,
# but about a minute of work (tests/integration/test_doc_examples.py)
RUN_OFFLINE = {
    ("cxpulse simulate --dry-run --out events.jsonl --customers 3000 --days 90 --seed 11 "
     "--anchor 2026-01-15T18:00:00Z --churn --outcomes outcomes.csv --ground-truth truth.json"),
    ("cxpulse backtest --from events.jsonl --horizon 14d --cutoff 2025-11-07 --cutoff 2025-11-14 "
     "--cutoff 2025-11-21 --cutoff 2025-11-28 --cutoff 2025-12-05 --cutoff 2025-12-12 "
     "--cutoff 2025-12-19 --cutoff 2025-12-26 --plots docs --html default.html"),
    ("cxpulse calibrate --from events.jsonl --horizon 14d --out calibrated.toml "
     "--train-cutoff 2025-11-07 --train-cutoff 2025-11-14 --train-cutoff 2025-11-21 "
     "--train-cutoff 2025-11-28 --train-cutoff 2025-12-05 "
     "--validate-cutoff 2025-12-19 --validate-cutoff 2025-12-26 --validate-cutoff 2026-01-01"),
}
RUN_ON_A_BROKER = {  # tests/integration/test_doc_examples.py, in this order
    "cxpulse topics create",
    "cxpulse topics list",
    "cxpulse simulate",
    "cxpulse simulate --dry-run --anchor 2025-03-14T18:00:00+08:00 --seed 7",
    "cxpulse produce events.jsonl",
    "cxpulse produce -",
    "cxpulse archive --dir var/archive --once",
    "cxpulse replay --since 7d --settings repeat-4.toml --diff --out runs/repeat-4",
    "cxpulse replay --since 7d --diff --out runs/baseline",
    "cxpulse replay --from var/archive --diff --out runs/archive",
    "cxpulse produce export.jsonl --source zendesk",
    "cxpulse produce zendesk-export.jsonl --source zendesk",
    "cxpulse alerts tail --since 8h --exit-at-end --lines",
    "cxpulse simulate --days 90 --churn --outcomes outcomes.csv",
}
NOT_RUN = {
    "cxpulse kafka up": "starts a broker on the fixed port 9092 (the suite's own broker is this command's code on free ports)",
    "cxpulse kafka status": "asks the broker of `kafka up` on the fixed port",
    "cxpulse kafka down": "stops the broker of `kafka up` on the fixed port",
    "cxpulse kafka up --secure --port 19092 --controller-port 19094":
        "fixed ports; tests/integration/security starts the same secure rig on free ports",
    "cxpulse --config DATA-DIR/security/kafka-client.toml topics create": "needs that secure rig's data directory",
    "cxpulse --config DATA-DIR/security/kafka-client.toml simulate --count 1000": "needs that secure rig's data directory",
    "cxpulse worker": "a server that runs until stopped (tests/integration/worker runs it)",
    "cxpulse ingest serve": "a server that runs until stopped (tests/integration/producers runs it)",
    "cxpulse alerts route": "runs until stopped (tests/integration/ops runs it)",
    "cxpulse archive --dir var/archive": "runs until stopped; its --once form is run",
    "cxpulse ops up": "fixed ports 9090/9093/9099 (tests/integration/ops runs the stack on free ports)",
    "cxpulse ops status": "asks the stack of `ops up` on its fixed ports",
    "cxpulse ops down": "stops the stack of `ops up`",
    "cxpulse alerts tail": "an interactive console (tests/unit/alerts/test_tail.py drives it)",
    "cxpulse alerts tail --severity critical --segment vip,vulnerable": "an interactive console",
    "cxpulse alerts tail --service-type outage --rule incident,repeat_contact": "an interactive console",
    "cxpulse simulate --rate 50": "paced at 50 events/s: minutes for the default population",
    "cxpulse simulate --customers 20000 --days 7 --ground-truth truth.json": "20,000 customers: too big for the suite",
    "cxpulse produce contacts.csv --on-error stop": "the reader's own file",
    "cxpulse produce events.csv --check": "the reader's own file",
    "cxpulse produce archive/2025-03-14.jsonl.gz --topic cx.sandbox.events": "the reader's own file and topic",
    "cxpulse customer cust-11-001151 --since 2025-03-04 --until 2025-03-05":
        "a customer of the run the page shows; the walk-through's data has other ids",
    "cxpulse replay --since 2025-01-01 --customer cust-11-001151 --to-topic staging.events":
        "writes a fixed topic name; tests/integration/replay/test_republish.py runs --to-topic",
    "cxpulse bridge --source amazon-connect --from-topic connect.ctr.raw":
        "runs until stopped; tests/integration/sources/test_bridge_dlq.py runs the bridge with --until-end",
    "cxpulse console serve": "a server that runs until stopped on the fixed port 9102 (tests/integration/console "
                             "serves its app on a free port; the demo runs the command)",
    "cxpulse backtest --from archive/ --outcomes left.csv --cutoff 2025-12-01 --horizon 30d --html report.html":
        "the reader's own archive and outcomes file; the page's run on the simulator (backtest, calibrate) is run",
    "cxpulse calibrate --from archive/ --outcomes left.csv --horizon 30d --out fitted.toml":
        "the reader's own archive and outcomes file; the page's run on the simulator (backtest, calibrate) is run",
    "cxpulse replay --from archive/ --settings fitted.toml":
        "the reader's archive and fitted weights; replay --from and --settings run in the replay walk-through",
}
