"""The numbers of a backtest, pure: ROC AUC, precision and recall, lift by decile, rates, lead times.

Every function takes plain sequences (a risk and a 0/1 outcome per observation) and is
exact on ties: tied risks share their rank, so no arbitrary order between equal scores
moves a result (docs/backtest.md, "How the numbers are computed").
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Decile", "auc", "histogram", "lift_by_decile", "precision_recall", "quantile", "wilson"]


def auc(risks: Sequence[float], outcomes: Sequence[int]) -> float | None:
    """ROC AUC: the probability that a random churner has a higher risk than a random stayer
    (a tie counts one half). ``None`` without both a churner and a stayer."""
    pairs = sorted(zip(risks, outcomes, strict=True))
    positives = sum(outcomes)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2  # ranks i+1 .. j share their mean
        rank_sum += average_rank * sum(y for _, y in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def precision_recall(flagged: Sequence[bool], outcomes: Sequence[int]) -> tuple[float | None, float | None, int]:
    """(precision, recall, how many flagged) of a yes/no prediction."""
    hits = sum(1 for f, y in zip(flagged, outcomes, strict=True) if f and y)
    count = sum(1 for f in flagged if f)
    positives = sum(outcomes)
    return (hits / count if count else None), (hits / positives if positives else None), count


@dataclass(frozen=True)
class Decile:
    """One tenth of the observations by risk, highest first; ties split evenly across boundaries."""

    decile: int  # 1 = the riskiest tenth
    customers: float
    churned: float  # expected churners in it when tied risks are ordered at random
    rate: float | None
    lift: float | None  # rate / overall rate
    risk_low: float | None
    risk_high: float | None


def lift_by_decile(risks: Sequence[float], outcomes: Sequence[int], parts: int = 10) -> list[Decile]:
    """Churn rate and lift of each tenth by risk (highest first).

    A group of tied risks that straddles a boundary is shared between the parts in
    proportion to the ranks it covers, each share with the group's churn rate: the value
    a random order among the ties gives on average.
    """
    n = len(risks)
    if not n:
        return []
    overall = sum(outcomes) / n
    groups: dict[float, list[int]] = {}
    for risk, y in zip(risks, outcomes, strict=True):
        group = groups.setdefault(risk, [0, 0])
        group[0] += 1
        group[1] += y
    ordered = sorted(groups.items(), key=lambda item: -item[0])
    size = n / parts
    deciles, position, g = [], 0.0, 0
    taken = 0.0  # of the current group
    for d in range(parts):
        end = (d + 1) * size if d < parts - 1 else float(n)
        count = churned = 0.0
        low = high = None
        while g < len(ordered) and position < end - 1e-9:
            risk, (members, churners) = ordered[g]
            share = min(members - taken, end - position)
            count += share
            churned += share * churners / members
            high = risk if high is None else high
            low = risk
            position += share
            taken += share
            if taken >= members - 1e-9:
                g, taken = g + 1, 0.0
        rate = churned / count if count else None
        deciles.append(Decile(d + 1, round(count, 6), round(churned, 6), rate,
                              (rate / overall) if rate is not None and overall else None, low, high))
    return deciles


def wilson(successes: float, trials: float, z: float = 1.96) -> tuple[float | None, float | None]:
    """The Wilson score interval of a rate (95 % by default)."""
    if trials <= 0:
        return None, None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile by linear interpolation between order statistics (``None`` when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts per bin ``[edges[i], edges[i+1])``; the last bin includes its upper edge."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(edges) - 1):
            last = i == len(edges) - 2
            if edges[i] <= value < edges[i + 1] or (last and value == edges[i + 1]):
                counts[i] += 1
                break
    return counts
