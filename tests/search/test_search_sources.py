"""The adaptive proposer share's bookkeeping: hits per source over a window of batches."""

from __future__ import annotations

import pytest

from tvm_llm_sched.search import SearchConfig
from tvm_llm_sched.search.sources import SourceHitRates


def test_a_source_without_hits_loses_share_and_one_with_hits_gains():
    rates = SourceHitRates(window=4)
    for _ in range(4):
        rates.record(["proposer"] * 8 + ["mutation"] * 8, [200.0] * 8 + [100.0] * 8, 100.0)
    assert rates.share("proposer", base=0.5, low=0.125, high=0.75) == 0.125
    assert rates.share("mutation", base=0.5, low=0.125, high=0.75) == 0.75


def test_old_batches_leave_the_window_and_the_first_batch_is_not_counted():
    rates = SourceHitRates(window=2)
    rates.record(["proposer"] * 4, [1.0] * 4, best_before=None)  # nothing to compare with yet
    assert rates.share("proposer", base=0.5, low=0.1, high=0.9) == 0.5
    rates.record(["proposer", "mutation"], [300.0, 100.0], 100.0)
    low = rates.share("proposer", base=0.5, low=0.1, high=0.9)
    for _ in range(2):  # the miss ages out
        rates.record(["proposer", "mutation"], [100.0, 300.0], 100.0)
    assert rates.share("proposer", base=0.5, low=0.1, high=0.9) > 0.5 > low


def test_failed_candidates_are_misses():
    rates = SourceHitRates(window=1)
    rates.record(["proposer", "sampling"], [None, 100.0], 100.0)
    # proposer (0 + 1) / (1 + 2) over everyone (1 + 1) / (2 + 2), Laplace-smoothed
    assert rates.share("proposer", base=0.5, low=0.0, high=1.0) == pytest.approx(1 / 3)


def test_the_adaptive_share_is_off_by_default():
    assert SearchConfig().adaptive_share is False and SearchConfig().share_window == 4
