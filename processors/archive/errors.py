"""Errors of the archive; the CLI prints each as one line."""

from cxpulse.errors import CxpulseError

__all__ = ["ArchiveError"]


class ArchiveError(CxpulseError):
    """An archive directory that cannot be read, written or resumed."""
