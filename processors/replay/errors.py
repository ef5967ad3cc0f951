"""Errors of the replay tools; the CLI prints each as one line."""

from cxpulse.errors import CxpulseError

__all__ = ["ReplayError"]


class ReplayError(CxpulseError):
    """A bad option, source or settings file for ``cxpulse replay`` or ``cxpulse customer``."""
