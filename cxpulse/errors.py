"""The one exception base of cxpulse; each package derives its own errors from it."""

__all__ = ["CxpulseError", "ConfigError"]


class CxpulseError(Exception):
    """Base of every error cxpulse raises on purpose; the CLI prints it as one line."""


class ConfigError(CxpulseError):
    """The configuration file or an environment variable is wrong."""
