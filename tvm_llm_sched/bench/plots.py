"""Tuning-curve plots (matplotlib, Agg, PNG): per workload, and a summary at the max budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .records import References, RunRecord
from .summary import read_at_budget


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:  # matplotlib is the `bench` extra, not a core dependency
        raise ImportError(
            "benchmark plots need matplotlib: pip install 'tvm-llm-sched[bench]'"
        ) from error

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, title: str, path: Path) -> Path:
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    array[~np.isfinite(array)] = np.nan
    return array


def curve_by_trials(runs: Sequence[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Trial numbers ``1..n`` and best-so-far per run (rows; ``nan`` past a run's end or
    before its first success)."""
    length = max((len(run.trials) for run in runs), default=0)
    best = np.full((len(runs), length), np.nan)
    for row, run in enumerate(runs):
        best[row, : len(run.trials)] = _finite([t.best_us for t in run.trials])
    return np.arange(1, length + 1), best


def curve_by_wall(runs: Sequence[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """A common wall-time grid (every run's result times) and each run's best-so-far on it
    (``nan`` before its first result and after the run ended)."""
    grid = np.unique(np.concatenate([[t.elapsed_s for t in run.trials] for run in runs] or [[]]))
    best = np.full((len(runs), len(grid)), np.nan)
    for row, run in enumerate(runs):
        times = np.array([t.elapsed_s for t in run.trials])
        values = _finite([t.best_us for t in run.trials])
        index = np.searchsorted(times, grid, side="right") - 1
        known = (index >= 0) & (grid <= times[-1])
        best[row, known] = values[index[known]]
    return grid, best


def _band(ax, x: np.ndarray, rows: np.ndarray, label: str, color: str, marker: str = "") -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns before any success
        median = np.nanmedian(rows, axis=0)
        low, high = np.nanmin(rows, axis=0), np.nanmax(rows, axis=0)
    ax.step(x, median, where="post", color=color, label=label, marker=marker, markersize=4)
    if rows.shape[0] > 1:
        ax.fill_between(x, low, high, step="post", color=color, alpha=0.2, linewidth=0)


def _reference_lines(ax, ref: References | None) -> None:
    if ref is None:
        return
    if ref.numpy_us:
        ax.axhline(ref.numpy_us, color="black", linestyle="--", linewidth=1, label="NumPy")
    if ref.peak_bound_us:
        ax.axhline(
            ref.peak_bound_us, color="gray", linestyle=":", linewidth=1, label="fp32 peak bound"
        )
    if math.isfinite(ref.unscheduled_us):
        ax.axhline(
            ref.unscheduled_us, color="gray", linestyle="-.", linewidth=1, label="unscheduled"
        )


def _by_strategy(runs: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Curves use each seed's longest run (the max-budget one when budgets ran separately)."""
    longest: dict[tuple[str, int], RunRecord] = {}
    for run in runs:
        key = (run.strategy, run.seed)
        if key not in longest or run.max_trials > longest[key].max_trials:
            longest[key] = run
    groups: dict[str, list[RunRecord]] = {}
    for (strategy, _), run in longest.items():
        groups.setdefault(strategy, []).append(run)
    return groups


def plot_workload(
    workload: str, runs: Sequence[RunRecord], ref: References | None, path: Path
) -> Path:
    """Best latency vs trials and vs wall time, one line per strategy (median over seeds,
    min-max band with several seeds), with NumPy / peak-bound / unscheduled lines."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (ax_trials, ax_wall) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for position, (strategy, group) in enumerate(sorted(_by_strategy(runs).items())):
        color = colors[position % len(colors)]
        label = f"{strategy} ({len(group)} seed{'s' if len(group) > 1 else ''})"
        _band(ax_trials, *curve_by_trials(group), label, color)
        _band(ax_wall, *curve_by_wall(group), label, color, marker="o")  # o = iteration end
    for ax in (ax_trials, ax_wall):
        _reference_lines(ax, ref)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    ax_trials.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_trials.set_xlabel("measured trials")
    ax_trials.set_ylabel("best latency (us, log)")
    ax_wall.set_xlim(left=0)
    ax_wall.set_xlabel("wall time since ms.tune_tir started (s); dots: iteration ends")
    ax_trials.legend(fontsize=8)
    flops = f", {ref.flops / 1e6:.1f} MFLOP" if ref else ""
    return _save(fig, f"{workload}{flops}: best-so-far latency", path)


def plot_summary(
    runs: Sequence[RunRecord], references: dict[str, References], budget: int, path: Path
) -> Path:
    """Per workload at ``budget``: speedup over the unscheduled program (log) and latency of
    the best strategy divided by each strategy's (1.0 = best), medians over seeds."""
    plt = _pyplot()
    workloads = list(dict.fromkeys(run.workload for run in runs))
    strategies = sorted({run.strategy for run in runs})
    best = np.full((len(workloads), len(strategies)), np.nan)
    for i, workload in enumerate(workloads):
        for j, strategy in enumerate(strategies):
            group = _by_strategy([r for r in runs if r.workload == workload]).get(strategy, [])
            values = [read_at_budget(run, budget).best_us for run in group]
            values = [v for v in values if math.isfinite(v)]
            if values:
                best[i, j] = float(np.median(values))
    unscheduled = np.array(
        [references[w].unscheduled_us if w in references else np.nan for w in workloads]
    )
    fig, (ax_speed, ax_ratio) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(strategies), 1)
    x = np.arange(len(workloads))
    for j, strategy in enumerate(strategies):
        offset = x - 0.4 + width * (j + 0.5)
        ax_speed.bar(offset, _finite(unscheduled / best[:, j]), width, label=strategy)
        ax_ratio.bar(offset, np.nanmin(best, axis=1) / best[:, j], width, label=strategy)
    numpy_speed = [
        references[w].unscheduled_us / references[w].numpy_us
        if w in references and references[w].numpy_us
        else np.nan
        for w in workloads
    ]
    if any(np.isfinite(numpy_speed)):
        ax_speed.scatter(
            x, _finite(numpy_speed), marker="_", s=600, color="black", label="NumPy", zorder=3
        )
    ax_speed.set_yscale("log")
    speedups = _finite(unscheduled[:, None] / best)
    if np.isfinite(speedups).any():  # bars grow from 1x, not from the axis' lower edge
        ax_speed.set_ylim(bottom=min(1.0, float(np.nanmin(speedups)) * 0.8))
    ax_speed.set_ylabel("speedup over unscheduled (log)")
    ax_ratio.set_ylabel("best strategy latency / strategy latency")
    ax_ratio.set_ylim(0, 1.05)
    for ax in (ax_speed, ax_ratio):
        ax.set_xticks(x, workloads)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, f"At {budget} trials (median over seeds)", path)


def plot_all(
    runs: Sequence[RunRecord], references: dict[str, References], budget: int, out_dir: Path
) -> list[Path]:
    """One PNG per workload plus ``summary.png`` under ``out_dir``."""
    paths = []
    for workload in dict.fromkeys(run.workload for run in runs):
        slug = workload.replace(":", "_").replace("/", "_")
        group = [run for run in runs if run.workload == workload]
        paths.append(
            plot_workload(workload, group, references.get(workload), out_dir / f"{slug}.png")
        )
    if runs:
        paths.append(plot_summary(runs, references, budget, out_dir / "summary.png"))
    return paths
