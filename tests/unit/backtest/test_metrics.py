"""The backtest's figures on cases small enough to work out by hand."""

import pytest
from cxpulse.processors.backtest.metrics import (
    auc,
    histogram,
    lift_by_decile,
    precision_recall,
    quantile,
    wilson,
)


def test_auc_counts_the_pairs_a_churner_outranks():
    # churners at risk 3 and 1, stayers at 2 and 0: of 4 pairs, (3>2), (3>0), (1>0) are right, (1<2) wrong.
    assert auc([3, 2, 1, 0], [1, 0, 1, 0]) == pytest.approx(3 / 4)


def test_auc_gives_a_tie_one_half():
    # churner 5 vs stayers 5 and 1: one tie (1/2) and one win; churner 1 vs the same: a loss and a tie.
    assert auc([5, 5, 1, 1], [1, 0, 1, 0]) == pytest.approx((0.5 + 1 + 0 + 0.5) / 4)
    assert auc([7, 7, 7], [1, 0, 0]) == 0.5  # nothing told apart


def test_auc_of_perfect_and_reversed_rankings_and_of_one_class():
    assert auc([9, 8, 1, 0], [1, 1, 0, 0]) == 1.0
    assert auc([0, 1, 8, 9], [1, 1, 0, 0]) == 0.0
    assert auc([1, 2], [0, 0]) is None and auc([1, 2], [1, 1]) is None


def test_precision_and_recall_of_a_flag():
    precision, recall, flagged = precision_recall([True, True, False, False, True], [1, 0, 1, 0, 1])
    assert (precision, recall, flagged) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert precision_recall([False, False], [0, 1]) == (None, 0.0, 0)


def test_lift_by_decile_without_ties():
    risks = list(range(20, 0, -1))  # 20 observations, two per decile
    outcomes = [1, 1, 1, 0] + [0] * 16  # overall rate 3/20
    deciles = lift_by_decile(risks, outcomes)

    assert [d.customers for d in deciles] == [2.0] * 10
    assert [d.churned for d in deciles[:3]] == [2.0, 1.0, 0.0]
    assert deciles[0].rate == 1.0 and deciles[0].lift == pytest.approx(1.0 / (3 / 20))
    assert deciles[1].lift == pytest.approx(0.5 / 0.15)
    assert (deciles[0].risk_high, deciles[0].risk_low) == (20, 19)


def test_lift_splits_a_tied_group_across_deciles_by_its_own_rate():
    # 10 observations: one at risk 9 (churned), then nine tied at 1 of which three churned.
    deciles = lift_by_decile([9] + [1] * 9, [1] + [1, 1, 1] + [0] * 6)
    assert deciles[0].churned == 1.0 and deciles[0].customers == 1.0
    for d in deciles[1:]:
        assert d.customers == pytest.approx(1.0) and d.churned == pytest.approx(3 / 9)
    assert sum(d.churned for d in deciles) == pytest.approx(4)


def test_lift_with_fewer_observations_than_deciles_shares_them_out():
    deciles = lift_by_decile([2, 1], [1, 0], parts=4)
    assert [d.customers for d in deciles] == [0.5, 0.5, 0.5, 0.5]
    assert [d.churned for d in deciles] == [0.5, 0.5, 0.0, 0.0]


def test_quantiles_histogram_and_wilson_interval():
    assert quantile([4, 1, 3, 2], 0.5) == 2.5 and quantile([5], 0.9) == 5 and quantile([], 0.5) is None
    assert histogram([0, 0.5, 1, 2.9, 3, 7], [0, 1, 2, 3]) == [2, 1, 2]  # 3 lands in the last bin, 7 nowhere
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 0) == (None, None)
