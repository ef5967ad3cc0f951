"""``cxpulse backtest`` on files: the report, the outcomes file, the HTML page, one-line errors."""

import json
from datetime import UTC, datetime

import orjson
import pytest
from cxpulse.producers.settings import ChurnSettings
from cxpulse.producers.simulator import Simulation, SimulationConfig
from cxpulse.schemas.outcomes import (
    Outcome,
    OutcomesError,
    read_outcomes,
    write_outcomes,
)

from cxpulse.cli import main

ANCHOR = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)
WINDOW = ["--cutoff", "2026-01-14T06:00:00Z", "--horizon", "36h", "--observed-until", "2026-01-15T18:00:00Z"]


@pytest.fixture(autouse=True)
def no_config(monkeypatch, tmp_path):
    for name in ("CXPULSE_CONFIG", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    # The shared consoles read COLUMNS when cxpulse.console is first imported, perhaps by an earlier
    # test of this process (pytest -n): give them the width as well.
    from cxpulse import console

    for shared in (console.console, console.err_console):
        monkeypatch.setattr(shared, "width", 200)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Events with account events, the same run without them, and its outcomes file."""
    root = tmp_path_factory.mktemp("sim")
    for name, in_stream in (("with", True), ("without", False)):
        sim = Simulation(SimulationConfig(anchor=ANCHOR, seed=3, customers=800, days=3, churn=ChurnSettings(),
                                          churn_scale=10.0, churn_events=in_stream))
        (root / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in sim.events()))
        write_outcomes(root / f"{name}.csv", sim.outcomes())
    return root


def test_account_events_and_an_outcomes_file_give_the_same_report(capsys, simulated):
    code, out, _ = cli(capsys, "backtest", "--from", str(simulated / "with.jsonl"), *WINDOW, "--json")
    assert code == 0
    streamed = json.loads(out)
    code, out, _ = cli(capsys, "backtest", "--from", str(simulated / "without.jsonl"), *WINDOW, "--json",
                       "--outcomes", str(simulated / "without.csv"))
    assert code == 0
    filed = json.loads(out)

    assert streamed["join"]["stream_outcomes"] == filed["join"]["file_outcomes"] > 0
    for key in ("overall", "segments", "rules", "lead_time"):
        assert streamed[key] == filed[key], key
    # both together: every outcome twice, counted once
    code, out, _ = cli(capsys, "backtest", "--from", str(simulated / "with.jsonl"), *WINDOW, "--json",
                       "--outcomes", str(simulated / "with.csv"))
    both = json.loads(out)
    assert both["join"]["duplicates"] == both["join"]["file_outcomes"] and both["overall"] == streamed["overall"]


def test_the_terminal_summary_and_the_html_page(capsys, simulated, tmp_path):
    pytest.importorskip("matplotlib")
    page, plots = tmp_path / "report.html", tmp_path / "plots"
    code, out, err = cli(capsys, "backtest", "--from", str(simulated / "with.jsonl"), *WINDOW, "--html", str(page),
                         "--plots", str(plots))

    assert code == 0, err
    assert "ROC AUC" in out and "Lift by score decile" in out and "Lead time:" in out
    text = page.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 3 and "<script" not in text and "http" not in text.split("<pre>")[0]
    assert sorted(p.name for p in plots.iterdir()) == ["backtest-calibration.png", "backtest-lead-time.png",
                                                        "backtest-lift.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots.iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["--cutoff", "2026-01-15T00:00:00Z", "--horizon", "2d"], "outcomes are not known that far"),
    (["--cutoff", "tuesday"], "--cutoff 'tuesday' is not a time"),
    (["--horizon", "soon"], "is not a duration"),
    (["--no-stream-outcomes"], "no outcomes: give --outcomes FILE"),
    (["--outcomes", "missing.csv", "--cutoff", "2026-01-14T00:00:00Z", "--horizon", "1d"],
     "outcomes file missing.csv does not exist"),
])
def test_bad_options_say_what_is_wrong_in_one_line(capsys, simulated, args, message):
    code, out, err = cli(capsys, "backtest", "--from", str(simulated / "with.jsonl"), *args)

    assert code == 1
    assert err.startswith("cxpulse: error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err + out


def test_the_outcomes_file_reads_csv_and_jsonl_and_names_a_bad_line(tmp_path):
    rows = [Outcome(customer_id="C-1", churned_at="2026-01-02T03:04:05Z", reason="price"),
            Outcome(customer_id="C-2", churned_at="2026-01-03T00:00:00+08:00", action="downgraded")]
    for name in ("o.csv", "o.jsonl"):
        write_outcomes(tmp_path / name, rows)
        assert read_outcomes(tmp_path / name) == rows
    (tmp_path / "bad.csv").write_text("customer_id,churned_at\nC-1,2026-01-02T03:04:05Z\nC 2,yesterday\n")
    with pytest.raises(OutcomesError, match=r"bad.csv line 3: customer_id: .*; churned_at: must be an RFC 3339"):
        read_outcomes(tmp_path / "bad.csv")
    (tmp_path / "extra.csv").write_text("customer_id,churned_at,email\n")
    with pytest.raises(OutcomesError, match="the CSV header must name customer_id, churned_at"):
        read_outcomes(tmp_path / "extra.csv")
    (tmp_path / "bad.jsonl").write_text('{"customer_id": "C-1", "churned_at": "2026-01-02T03:04:05Z", "x": 1}\n')
    with pytest.raises(OutcomesError, match="bad.jsonl line 1: x: unknown field"):
        read_outcomes(tmp_path / "bad.jsonl")
