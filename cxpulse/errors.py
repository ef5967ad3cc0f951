"""The one exception base of cxpulse; each package derives its own errors from it."""

__all__ = ["BrokerError", "ConfigError", "CxpulseError"]


class CxpulseError(Exception):
    """Base of every error cxpulse raises on purpose; the CLI prints it as one line."""


class ConfigError(CxpulseError):
    """The configuration file or an environment variable is wrong."""


class BrokerError(CxpulseError):
    """A Kafka broker cannot be started, stopped or reached, or refused a request."""
