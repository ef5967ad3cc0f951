"""``--settings FILE``: an [engine] table applied over the current settings."""

import pytest

from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.replay.errors import ReplayError
from cxpulse.processors.replay.settings_file import load_engine_settings, settings_delta


def write(tmp_path, text: str):
    path = tmp_path / "new.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_only_the_keys_given_change(tmp_path):
    base = EngineSettings(cooldown_seconds=600)
    path = write(tmp_path, "[kafka]\nbootstrap_servers = 'x:1'\n[engine]\nrepeat_warning_at = 4\n"
                           "[engine.weights]\ncomplaint = 30\n")

    new = load_engine_settings(path, base)

    assert (new.repeat_warning_at, new.weights.complaint, new.cooldown_seconds) == (4, 30, 600)
    assert new.weights.nps_detractor == base.weights.nps_detractor
    assert settings_delta(base, new) == {"repeat_warning_at": (3, 4), "weights.complaint": (20.0, 30.0)}


@pytest.mark.parametrize(("text", "message"), [
    ("[engine\n", "not valid TOML"),
    ("[worker]\napp_id = 'x'\n", "no \\[engine\\] table"),
    ("[engine]\nrepeat_warning_at = 1\n", "invalid setting engine.repeat_warning_at"),
    ("[engine]\nrepeat_warnings = 4\n", "invalid setting engine.repeat_warnings"),
    ("[engine.weights]\ncomplaint = 'high'\n", "invalid setting engine.weights.complaint"),
])
def test_bad_files_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ReplayError, match=message):
        load_engine_settings(write(tmp_path, text), EngineSettings())


def test_a_missing_file(tmp_path):
    with pytest.raises(ReplayError, match="does not exist"):
        load_engine_settings(tmp_path / "nope.toml", EngineSettings())
