"""The JMESPath functions a mapping may call, and how a mapping is found by name."""

import jmespath
import pytest

from cxpulse.errors import ConfigError
from cxpulse.producers.mapping import load_mapping, load_source
from cxpulse.producers.mapping.functions import MappingFunctions
from cxpulse.settings import Settings

from .helpers import CALL_RULE

OPTIONS = jmespath.Options(custom_functions=MappingFunctions())


def search(expression: str, data: dict):
    return jmespath.search(expression, data, options=OPTIONS)


def test_slug_lower_get():
    assert search("slug(q)", {"q": "  Billing Queue #2 "}) == "billing-queue-2"
    assert search("slug(q)", {"q": "x" * 50}) == "x" * 40
    assert search("slug(q)", {"q": "!!!"}) is None and search("slug(q)", {}) is None
    assert search("lower(q)", {"q": "OPEN"}) == "open"
    assert search("get(attrs, name)", {"attrs": {"tier": "gold"}, "name": "tier"}) == "gold"
    assert search("get(attrs, `3`)", {"attrs": {"3": "c"}}) == "c"
    assert search("get(attrs, 'x')", {}) is None


def test_seconds_between_and_divide():
    data = {"a": "2025-05-01T10:00:00Z", "b": "2025-05-01T10:01:30.5Z"}
    assert search("seconds_between(a, b)", data) == 90.5
    assert search("seconds_between(a, c)", data) is None
    assert search("seconds_between(a, 'garbage')", data) is None
    assert search("divide(ms, `1000`)", {"ms": 2500}) == 2.5
    assert search("divide(ms, `0`)", {"ms": 2500}) is None


def test_a_path_a_folder_and_the_presets(tmp_path):
    (tmp_path / "zendesk.toml").write_text('description = "mine"\n' + CALL_RULE, encoding="utf-8")
    mapping, origin = load_mapping("zendesk", tmp_path)
    assert (mapping.name, mapping.description, origin) == ("zendesk", "mine", str(tmp_path / "zendesk.toml"))
    mapping, origin = load_mapping("zendesk", None)
    assert origin == "preset zendesk"
    mapping, origin = load_mapping(str(tmp_path / "zendesk.toml"), None)
    assert mapping.description == "mine"
    settings = Settings(sources={"dir": str(tmp_path)})
    assert load_source("zendesk", settings).mapping.description == "mine"


def test_unknown_names_and_broken_files_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"no source mapping named 'crm' among the presets \(amazon-connect"):
        load_mapping("crm", None)
    with pytest.raises(ConfigError, match="no such file"):
        load_mapping(str(tmp_path / "none.toml"), None)
    (tmp_path / "bad.toml").write_text("[[events]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_mapping("bad", tmp_path)
