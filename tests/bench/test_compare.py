"""The strategy comparison in benchmark reports: speedups, wins and the ceiling, on known rows."""

from __future__ import annotations

from tvm_llm_sched.bench.compare import comparison_lines, display_name


def _row(workload, strategy, seed, budget, latency, search_s=1.0):
    return {
        "workload": workload,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        "trials": budget,
        "best_latency_us": latency,
        "search_s": search_s,
    }


OURS = "tvm_llm_sched.search:LLMGuidedSearch"
ROWS = [
    # A: ours 10 / 12 (median 11), evolutionary 20 / 24 (median 22): 2x; per seed 2.0 / 2.0.
    _row("A", OURS, 0, 4, 10.0, search_s=2.0),
    _row("A", OURS, 1, 4, 12.0, search_s=2.0),
    _row("A", "evolutionary", 0, 4, 20.0, search_s=8.0),
    _row("A", "evolutionary", 1, 4, 24.0, search_s=8.0),
    # B: ours 9 / 11 (median 10), evolutionary 5 / 15 (median 10): a tie by the median; seed 0
    # loses, seed 1 wins. The fastest B program of any run is evolutionary's 5.
    _row("B", OURS, 0, 4, 9.0),
    _row("B", OURS, 1, 4, 11.0),
    _row("B", "evolutionary", 0, 4, 5.0),
    _row("B", "evolutionary", 1, 4, 15.0),
    # A smaller budget, read as a second geometric mean.
    _row("A", OURS, 0, 2, 30.0),
    _row("A", "evolutionary", 0, 2, 60.0),
]


def test_display_name_drops_the_module_path():
    assert display_name(OURS) == "LLMGuidedSearch"
    assert display_name("evolutionary") == "evolutionary"


def test_speedups_wins_search_time_and_ceiling():
    text = "\n".join(comparison_lines(ROWS, "LLMGuidedSearch", trials_per_iter=2))
    assert "| A | 11.0 | 22.0 | 2.00x | 2.00 / 2.00 | 1.0 / 4.0 |" in text
    assert "| B | 10.0 | 10.0 | 1.00x | 0.56 / 1.36 | 0.5 / 0.5 |" in text
    geomean = 2.0**0.5
    assert f"**{geomean:.2f}x**" in text
    assert "At 4 trials: 1.41x vs evolutionary (faster on 1 of 2 workloads)" in text
    assert "At 2 trials: 2.00x vs evolutionary (faster on 1 of 1 workloads)" in text
    assert "faster than evolutionary in 3 of 4" in text
    # Ceiling: A 22 / 10 = 2.2, B 10 / 5 = 2.0.
    assert f"Ceiling vs evolutionary: {(2.2 * 2.0) ** 0.5:.2f}x" in text


def test_no_comparison_without_both_sides():
    assert comparison_lines(ROWS, "NotThere", trials_per_iter=2) == []
    only_ours = [r for r in ROWS if r["strategy"] == OURS]
    assert comparison_lines(only_ours, "LLMGuidedSearch", trials_per_iter=2) == []
