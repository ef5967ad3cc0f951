"""The backtest's expected failures: one line each (``cxpulse: error: ...``)."""

from cxpulse.errors import CxpulseError

__all__ = ["BacktestError"]


class BacktestError(CxpulseError):
    """A backtest or calibration that cannot run as asked."""
