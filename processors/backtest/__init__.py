"""Does the score predict churn? Outcomes joined with replayed scores and alerts; calibration (docs/backtest.md)."""

__all__: list[str] = []
