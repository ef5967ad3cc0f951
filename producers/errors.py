"""Errors of the producers; the CLI prints each as one line."""

from cxpulse.errors import CxpulseError

__all__ = ["ImportAborted", "ProducerError"]


class ProducerError(CxpulseError):
    """A producer cannot start or finish: a bad option, an unreadable file, an unreachable broker."""


class ImportAborted(ProducerError):
    """``cxpulse produce`` refused lines or could not deliver events (the summary says which)."""
