"""docs/configuration.md's list of every setting, written from the settings models.

``python -m cxpulse.config_doc`` rewrites the part of ``docs/configuration.md`` between
its two ``settings`` markers; ``python -m cxpulse.config_doc --check`` exits 1 when that
part is stale (a unit test does the same). Each setting's text is its field's docstring
in its section model (``use_attribute_docstrings``), each section's its model's
docstring: document a new setting there, then run the command.
"""

import inspect
import json
import os
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from cxpulse.settings import Settings
from cxpulse.settings_errors import expects

__all__ = ["BEGIN", "DOC", "END", "render", "render_settings", "stale", "write"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN settings: written by `python -m cxpulse.config_doc` from the settings models; edit those -->"
END = "<!-- END settings -->"


def render_settings(model: type[BaseModel] = Settings) -> str:
    """The Markdown of every section and setting of ``model``."""
    with _plain_environment():
        parts = [_section(name, field) for name, field in model.model_fields.items()]
    return "\n".join(part for part in parts if part).rstrip() + "\n"


def _section(name: str, field: FieldInfo) -> str:
    section = typing.cast(type[BaseModel], field.annotation)
    lines = [f"### `[{name}]`", "", _doc(section), ""]
    lines += _table(section, f"CXPULSE_{name.upper()}__")
    for sub_name, sub_field in section.model_fields.items():
        nested = _nested_model(sub_field.annotation)
        if nested is None:
            continue
        is_list = typing.get_origin(sub_field.annotation) is list
        header = f"[[{name}.{sub_name}]]" if is_list else f"[{name}.{sub_name}]"
        lines += ["", f"#### `{header}`", "", _doc(nested) if is_list else sub_field.description or "", ""]
        prefix = "" if is_list else f"CXPULSE_{name.upper()}__{sub_name.upper()}__"
        lines += _table(nested, prefix)
    return "\n".join(lines) + "\n"


def _table(model: type[BaseModel], env_prefix: str) -> list[str]:
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        if _is_table(field):
            continue  # its own section follows
        if not field.description:
            raise ValueError(f"{model.__name__}.{name} has no docstring: document it in its section model")
        takes = "a list of tables, see below" if _nested_model(field.annotation) else expects(field)
        what = f"{field.description} *Takes {takes}.*"
        rows.append(f"| `{name}` | {_default(field)} | {_cell(what)} |")
    plain = [name for name, field in model.model_fields.items() if not _is_table(field)]
    if env_prefix and plain:
        rows += ["", f"From the environment: `{env_prefix}<SETTING>`, e.g. `{env_prefix}{plain[0].upper()}`."]
    return rows


def _is_table(field: FieldInfo) -> bool:
    annotation = field.annotation
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        args = typing.get_args(annotation)
        annotation = args[0] if args else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _doc(model: type[BaseModel]) -> str:
    return " ".join(line.strip() for line in inspect.cleandoc(model.__doc__ or "").splitlines() if line.strip()) \
        .replace(" ``", " `").replace("`` ", "` ").replace("``", "`")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Path):
        home = str(Path.home())
        text = str(value)
        return f'`"{"~" + text[len(home):] if text.startswith(home) else text}"`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:.1f}`"
    return f"`{json.dumps(value)}`" if isinstance(value, (str, list, dict)) else f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@contextmanager
def _plain_environment() -> Iterator[None]:
    """Defaults as on any machine: no XDG directories of this one."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("XDG_")}
    try:
        yield
    finally:
        os.environ.update(saved)


def render(text: str) -> str:
    """``text`` (the document) with its generated part replaced by the current one."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{DOC.name} lacks the markers {BEGIN!r} and {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{render_settings()}\n{END}{tail}"


def stale(path: Path = DOC) -> bool:
    """True when ``path``'s generated part is not what the models give."""
    text = path.read_text(encoding="utf-8")
    return render(text) != text


def write(path: Path = DOC) -> bool:
    """Rewrite the generated part; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    """``--check``: exit 1 when stale; otherwise rewrite the file."""
    if "--check" in argv:
        if stale():
            print(f"{DOC} is stale: run python -m cxpulse.config_doc", file=sys.stderr)
            return 1
        return 0
    print(f"{DOC}: {'rewritten' if write() else 'up to date'}")
    return 0


if __name__ == "__main__":  # pragma: no cover - a developer's command
    sys.exit(main(sys.argv[1:]))
