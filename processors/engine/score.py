"""The decayed penalty behind the experience score (docs/rules.md).

The penalty ``P`` refers to time ``ref``; a signal of ``w`` points at event time ``t``
contributes ``w * 2^(-(ref - t)/h)`` at ``ref``. Because every contribution is decayed
to the same reference, the sum does not depend on the order signals arrive in, and a
contribution can be withdrawn exactly by adding ``-w`` at the same ``t``.
"""

from math import exp

from .state import CustomerState

__all__ = ["add_points", "score_of"]


def add_points(state: CustomerState, points: float, at: float, k: float) -> None:
    """Add ``points`` at event time ``at``; ``k = ln 2 / half-life``. Advances ``ref`` if later."""
    ref = state.ref
    if at == ref:  # the usual case: the engine moves ``ref`` to the event's time first
        state.penalty += points
    elif at > ref:
        state.penalty = state.penalty * exp((ref - at) * k) + points
        state.ref = at
    else:
        state.penalty += points * exp((at - ref) * k)


def score_of(state: CustomerState) -> float:
    """``clamp(100 - P, 0, 100)`` at the state's reference time."""
    score = 100.0 - state.penalty
    if score < 0.0:
        return 0.0
    return 100.0 if score > 100.0 else score
