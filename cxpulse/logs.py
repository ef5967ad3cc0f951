"""Logging for every command: one level (``--log-level``), quiet libraries, progress-bar safe.

At the default level (``warning``) only cxpulse's own warnings and errors are shown; the
Kafka clients and faust say nothing, because what they say when a broker is away (a
connection error per client per retry) is noise next to the one line cxpulse prints
itself ("cannot reach Kafka at ..."). ``--log-level info`` lets their warnings through,
``--log-level debug`` everything.

Log lines are printed through the Rich console on stderr: a progress bar that is being
drawn there moves below them instead of being torn apart. Python warnings
(``warnings.warn``) go through the same path.
"""

import logging

from cxpulse.console import err_console
from cxpulse.errors import ConfigError

__all__ = ["LEVELS", "THIRD_PARTY", "ConsoleHandler", "configure_logging", "parse_level"]

LEVELS = ("debug", "info", "warning", "error")
# Libraries whose log lines are kept out of the default output (the gateway's access log,
# aiohttp.access, is cxpulse's own privacy-safe one: it follows --log-level like the rest).
THIRD_PARTY = ("kafka", "aiokafka", "faust", "mode", "urllib3", "testcontainers")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ConsoleHandler(logging.Handler):
    """Writes each record with ``err_console.print``, so a live progress bar stays intact."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            err_console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging must never raise  # pragma: no cover
            self.handleError(record)


def parse_level(name: str, source: str = "--log-level") -> int:
    """The logging level for ``name`` (``debug``, ``info``, ``warning`` or ``error``)."""
    if name.lower() not in LEVELS:
        raise ConfigError(f"{source} must be one of {', '.join(LEVELS)}, not {name!r}")
    return int(logging.getLevelName(name.upper()))


def third_party_level(level: int) -> int:
    """The level of the libraries' loggers for cxpulse's level ``level``."""
    if level <= logging.DEBUG:
        return logging.DEBUG
    if level <= logging.INFO:
        return logging.WARNING
    return logging.CRITICAL + 1  # silent: cxpulse reports what matters in its own words


def configure_logging(level: int) -> None:
    """Route every log record and Python warning to stderr through the console at ``level``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, ConsoleHandler):
            root.removeHandler(handler)
    handler = ConsoleHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    quiet = third_party_level(level)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
