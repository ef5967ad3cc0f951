"""``cxpulse schemas``: export and check the JSON Schema files of the contract."""

from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import console
from cxpulse.errors import CxpulseError

__all__ = ["schemas_app"]

schemas_app = typer.Typer(help="Export or check the JSON Schema files of the event contract.", no_args_is_help=True)


@schemas_app.command("export")
def export(
    out: Annotated[Path | None, typer.Option(help="Directory to write into (default: the package's schemas/json).")] = None,
) -> None:
    """Regenerate the JSON Schema files from the pydantic models."""
    from .export import SCHEMA_DIR, write_schemas

    for path in write_schemas(out or SCHEMA_DIR):
        console.print(f"wrote {path.name}")


@schemas_app.command("check")
def check() -> None:
    """Fail when the committed JSON Schema files differ from the models."""
    from .export import stale_schemas

    stale = stale_schemas()
    if stale:
        raise CxpulseError(f"stale schema files: {', '.join(stale)}; run 'cxpulse schemas export'")
    console.print("schema files are up to date")
