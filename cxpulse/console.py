"""What every subcommand shares: the loaded settings and the Rich consoles."""

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from cxpulse.settings import Settings, load_settings

__all__ = ["CliState", "console", "err_console", "settings_of"]

# soft_wrap: never break a line at the terminal width (one-line errors stay one line; output greps well).
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CliState:
    """Per-invocation state the root callback hands to subcommands."""

    config_path: Path | None = None
    log_level: str = "warning"  # the root --log-level, lower case
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


def settings_of(ctx: typer.Context) -> Settings:
    """The settings for this invocation, read once from the config file and environment."""
    state = ctx.find_object(CliState)
    return (state or CliState()).settings()
