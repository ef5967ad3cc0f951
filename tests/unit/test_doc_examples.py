"""Every ``cxpulse`` command shown in README.md and docs/*.md is one the CLI accepts as written.

Each example is parsed by the real command tree (every subcommand, option and value
checked, nothing run); the ones that can run without a broker run in this file, and
tests/integration/test_doc_examples.py runs the broker-side walk-through on a real one.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from cxpulse.cli import build_command

from ..doc_examples import NOT_RUN, RUN_HERE, RUN_OFFLINE, RUN_ON_A_BROKER, ROOT, Example, examples, zendesk_export

from typer import Exit

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import MissingParameter, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import MissingParameter, NoArgsIsHelpError, UsageError

EXAMPLES = examples()
COMMAND = build_command()


def parse(example: Example) -> None:
    """Parse ``example`` down to its last subcommand; raises UsageError when the CLI refuses it."""
    command = COMMAND
    ctx = command.make_context("cxpulse", list(example.args))
    while hasattr(command, "resolve_command"):
        rest = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else [*ctx.protected_args, *ctx.args]
        if not rest:
            return
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)


def test_the_docs_have_examples():
    fenced = [e for e in EXAMPLES if not e.inline]
    assert len(fenced) > 30 and {e.doc for e in fenced} >= {"docs/producers.md", "docs/replay.md", "docs/operations.md"}


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_every_documented_command_parses(example, monkeypatch):
    for name, value in example.env:
        monkeypatch.setenv(name, value)
    try:
        parse(example)
    except (Exit, NoArgsIsHelpError):
        pass  # --help or a bare group: shown, not an error
    except MissingParameter:
        if not example.inline:  # prose names a command ("`cxpulse produce` validates ..."), an example runs
            raise
    except UsageError as exc:
        pytest.fail(f"{example}: {exc.format_message()}")


def test_a_wrong_example_would_fail():
    wrong = Example("x.md", 1, "cxpulse worker --loglvl info", (), ("worker", "--loglvl", "info"), False)

    with pytest.raises(UsageError, match="No such option"):
        parse(wrong)


def _run(shell: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CXPULSE_CONFIG"] = ""
    return subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], cwd=cwd, env=env, check=False, capture_output=True,
                          text=True, timeout=120)


def _documented(shell: str) -> str:
    lines = {e.shell for e in EXAMPLES if not e.inline}
    assert any(line.startswith(shell) for line in lines), f"no longer documented: {shell}"
    return next(line for line in lines if line.startswith(shell))


def test_the_dry_run_example_writes_events(tmp_path):
    line = _documented("cxpulse simulate --dry-run --anchor 2025-03-14T18:00:00+08:00 --seed 7 > events.jsonl")

    done = _run(line, tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "events.jsonl").stat().st_size > 10_000


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_dry_run_piped_into_jq(tmp_path):
    done = _run(_documented("cxpulse simulate --dry-run --count 10 | jq ."), tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"event_id"') == 10


def test_the_new_token_example(tmp_path):
    done = _run(_documented("cxpulse ingest new-token crm"), tmp_path)

    assert done.returncode == 0, done.stderr
    assert "[[gateway.tokens]]" in done.stdout and 'name = "crm"' in done.stdout


def test_the_sources_list_example(tmp_path):
    done = _run(_documented("cxpulse sources list"), tmp_path)

    assert done.returncode == 0, done.stderr
    assert {"amazon-connect", "salesforce-case", "zendesk"} <= {line.split()[0] for line in done.stdout.splitlines()}


def test_the_sources_map_example_shows_the_events_and_sends_nothing(tmp_path):
    zendesk_export(tmp_path / "export.jsonl")

    done = _run(_documented("cxpulse sources map zendesk export.jsonl"), tmp_path)

    assert done.returncode == 0, done.stderr
    events = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert events and all(event["customer_id"].startswith("zd-") for event in events)
    assert {event["event_type"] for event in events} == {"ticket", "feedback"}


def test_every_fenced_example_is_run_or_listed_with_a_reason():
    fenced = {e.key for e in EXAMPLES if not e.inline}
    classified = RUN_HERE | RUN_OFFLINE | RUN_ON_A_BROKER | set(NOT_RUN)

    assert sorted(fenced - classified) == [], "run these in a test, or list them in NOT_RUN with the reason"
    assert sorted(classified - fenced) == [], "no longer documented: drop them from tests/doc_examples.py"
    assert not (RUN_HERE | RUN_OFFLINE | RUN_ON_A_BROKER) & set(NOT_RUN)
    assert all(reason.strip() for reason in NOT_RUN.values())
    assert len(NOT_RUN) < len(fenced)  # the list stays the exception


def test_the_readme_points_at_files_that_exist():
    for path in ("cxpulse.example.toml", "docs/configuration.md", "docs/operations.md"):
        assert (ROOT / path).is_file()
