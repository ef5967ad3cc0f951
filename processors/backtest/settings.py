"""Settings of ``cxpulse backtest`` and ``cxpulse calibrate``: the ``[backtest]`` section."""

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BacktestSettings"]


class BacktestSettings(BaseModel):
    """Defaults of the backtest's options (each is also a command-line option)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    # A customer counts as having left when it leaves within this many days of a cut-off.
    horizon_days: float = Field(30.0, gt=0)
    """A customer counts as having left when it leaves within this many days of a cut-off (--horizon)."""
    # calibrate: inverse strength of the L2 penalty of the logistic fit (larger: weaker).
    regularisation: float = Field(1.0, gt=0)
    """calibrate: inverse strength of the logistic fit's L2 penalty (larger: weaker)."""
    # calibrate: a signal seen in fewer training rows than this keeps its weight.
    min_support: int = Field(20, ge=1)
    """calibrate: a signal seen in fewer training rows than this keeps its weight."""
    # calibrate --bands: at-risk and critical start where the odds of leaving reach these
    # multiples of the base rate.
    at_risk_lift: float = Field(2.0, gt=1)
    """calibrate --bands: at_risk starts where the odds of leaving reach this multiple of the base rate."""
    critical_lift: float = Field(4.0, gt=1)
    """calibrate --bands: critical starts where the odds of leaving reach this multiple of the base rate."""
