"""Settings refuse a changelog limit below the largest state record (docs/rules.md, "Limits").

Before, a ``worker.changelog_max_message_bytes`` of 1 MiB was accepted with the default engine
settings, whose incident state can take 4.3 MB: the worker would stop (RecordTooLarge) on
the first busy service type, long after it started.
"""

from pathlib import Path

import pytest

from cxpulse.cli import main
from cxpulse.errors import ConfigError
from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.engine.limits import RECORD_OVERHEAD, state_bounds
from cxpulse.settings import load_settings

NEED = state_bounds(EngineSettings()).record_bytes  # 4,345,561 with the defaults


pytestmark = pytest.mark.usefixtures("clean_env")  # tests/unit/conftest.py


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cx.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_smallest_accepted_changelog_limit_is_the_largest_state_plus_the_record_overhead(tmp_path):
    assert NEED == state_bounds(EngineSettings()).incident.total + RECORD_OVERHEAD == 4_345_561
    assert load_settings(_toml(tmp_path, f"[worker]\nchangelog_max_message_bytes = {NEED}\n"))
    with pytest.raises(ConfigError) as caught:
        load_settings(_toml(tmp_path, f"[worker]\nchangelog_max_message_bytes = {NEED - 1}\n"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("invalid settings: worker.changelog_max_message_bytes = 4,345,560 is too small")
    assert "raise it to at least 4,345,561 or lower engine.incident_max_contacts = 5000" in message


def test_kafkas_default_one_mib_is_refused_from_the_environment(monkeypatch):
    monkeypatch.setenv("CXPULSE_WORKER__CHANGELOG_MAX_MESSAGE_BYTES", "1048588")
    with pytest.raises(ConfigError, match=r"worker\.changelog_max_message_bytes = 1,048,588 is too small"):
        load_settings()


def test_smaller_engine_caps_make_a_smaller_limit_enough():
    small = {"incident_max_contacts": 1000, "max_service_types": 4, "max_open_tickets": 20}
    assert state_bounds(EngineSettings(**small)).record_bytes < 1_048_588
    settings = load_settings(engine=small, worker={"changelog_max_message_bytes": 1_048_588})
    assert settings.worker.changelog_max_message_bytes == 1_048_588


def test_engine_caps_too_large_for_any_changelog_record_name_the_engine_setting():
    with pytest.raises(ConfigError) as caught:
        load_settings(engine={"incident_max_contacts": 100_000}, worker={"changelog_max_message_bytes": 67_108_864})
    message = str(caught.value)
    assert message.startswith("invalid settings: engine.incident_max_contacts = 100000: an incident state can take "
                              "86,519,543 bytes, more than any changelog record")
    with pytest.raises(ConfigError, match=r"lower engine\.max_service_types = 200 x engine\.max_window_events = 200"):
        load_settings(engine={"max_service_types": 200, "max_window_events": 200})


def test_the_cli_reports_it_in_one_line(tmp_path, capsys):
    path = _toml(tmp_path, "[worker]\nchangelog_max_message_bytes = 2000000\n")
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(path), "topics", "create"])
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.startswith("cxpulse: error: invalid settings: worker.changelog_max_message_bytes = 2,000,000 is too small")
    assert err.count("\n") == 1 and "Traceback" not in err
