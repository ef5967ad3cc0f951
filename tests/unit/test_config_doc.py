"""docs/configuration.md explains every setting, written from the settings models, and is current."""

import re

import pytest
from pydantic import BaseModel, ConfigDict

from cxpulse import config_doc
from cxpulse.producers.settings import GatewayToken
from cxpulse.settings import Settings


def _leaves(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(section path, field name) of every setting that is not itself a table."""
    found = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _leaves(annotation, f"{prefix}{name}.")
        else:
            found.append((prefix.rstrip("."), name))
    return found


def test_the_committed_file_is_what_the_models_give():
    assert not config_doc.stale(), "docs/configuration.md is stale: run python -m cxpulse.config_doc"


def test_every_setting_has_a_description_in_its_model():
    missing = [f"{section}.{name}" for section, name in _leaves(Settings)
               if not _field(section, name).description]

    assert missing == []


def _field(section: str, name: str):
    model: type[BaseModel] = Settings
    for part in section.split("."):
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return model.model_fields[name]


def test_every_setting_is_in_its_sections_table():
    text = config_doc.DOC.read_text(encoding="utf-8")
    tables = dict(re.findall(r"#+ `\[+([\w.]+)\]+`\n(.*?)(?=\n#+ `\[|<!-- END)", text, re.DOTALL))
    leaves = _leaves(Settings) + [("gateway.tokens", name) for name in GatewayToken.model_fields]

    for section, name in leaves:
        assert f"| `{name}` |" in tables[section], f"{section}.{name} is not in docs/configuration.md"


def test_a_setting_without_a_docstring_cannot_be_written():
    class Section(BaseModel):
        model_config = ConfigDict(use_attribute_docstrings=True)

        documented: int = 1
        """Has a text."""
        undocumented: int = 2

    class Root(BaseModel):
        section: Section = Section()

    with pytest.raises(ValueError, match="Section.undocumented has no docstring"):
        config_doc.render_settings(Root)


def test_a_changed_description_makes_the_file_stale(tmp_path):
    copy = tmp_path / "configuration.md"
    copy.write_text(config_doc.DOC.read_text(encoding="utf-8").replace("The SASL user.", "The user."),
                    encoding="utf-8")

    assert config_doc.stale(copy)
    assert config_doc.write(copy) and not config_doc.stale(copy)


def test_defaults_do_not_depend_on_this_machine(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))

    assert not config_doc.stale()
