"""The Markdown ``## Tuning curves`` section, and writing it into a shared BENCHMARKS.md."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from pathlib import Path

from ..search.engine import CANDIDATE_SOURCES
from .compare import comparison_lines
from .records import References
from .summary import summary_rows

SECTION_TITLE = "## Tuning curves"

OURS = ("llm", "LLMGuidedSearch")
"""Labels of this package's search in a matrix (registry name, or the class as
``module:callable``): the strategy a report compares with the others."""


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "failed"


def _spread(values: list[float], digits: int = 1) -> str:
    """``median`` or ``median [min-max]`` over seeds."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "failed"
    median = statistics.median(finite)
    if len(values) == 1:
        return _fmt(median, digits)
    return f"{_fmt(median, digits)} [{_fmt(min(finite), digits)}-{_fmt(max(finite), digits)}]"


def _budget_table(rows: list[dict], budget: int) -> list[str]:
    lines = [
        f"### {budget} trials",
        "",
        "| Workload | Strategy | Seeds | Best (us) | GFLOP/s | % peak | x unscheduled "
        "| NumPy / best "
        "| Wall (s) | To 5 % (s) | Search / build / run / update (s) "
        "| Proposer / mutation / sampling (% of trials) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["budget"] == budget:
            groups.setdefault((row["workload"], row["strategy"]), []).append(row)
    for (workload, strategy), group in groups.items():

        def col(name: str, group: list[dict] = group) -> list[float]:
            return [float(r[name]) if r[name] != "" else math.nan for r in group]

        best = col("best_latency_us")
        numpy_us = col("numpy_us")[0]
        vs_numpy = [numpy_us / b if math.isfinite(b) else math.nan for b in best]
        phases = " / ".join(
            _spread(col(name), 0) for name in ("search_s", "build_s", "run_s", "update_s")
        )
        sources = (
            " / ".join(_spread(col(f"pct_from_{source}"), 0) for source in CANDIDATE_SOURCES)
            if all(r["pct_from_proposer"] != "" for r in group)
            else "-"
        )
        short = [r for r in group if r["trials"] < budget]
        stopped = ", ".join(str(r["trials"]) for r in short)
        seeds = f"{len(group)}" + (f" (stopped at {stopped} trials)" if short else "")
        lines.append(
            f"| {workload} | {strategy} | {seeds} | {_spread(best)} | {_spread(col('gflops'))} "
            f"| {_spread(col('pct_of_peak'))} | {_spread(col('speedup_vs_unscheduled'))} "
            f"| {_spread(vs_numpy, 2) if math.isfinite(numpy_us) else '-'} "
            f"| {_spread(col('wall_s'), 0)} | {_spread(col('time_to_5pct_s'), 0)} | {phases} "
            f"| {sources} |"
        )
    return lines + [""]


def _references_table(references: dict[str, References], workloads: Sequence[str]) -> list[str]:
    lines = [
        "### References (measured in the same process run)",
        "",
        "| Workload | MFLOP | Unscheduled (us) | NumPy (us) | NumPy GFLOP/s "
        "| fp32 peak bound (us) |",
        "|---|---|---|---|---|---|",
    ]
    for workload in workloads:
        ref = references.get(workload)
        if ref is None:
            continue
        numpy = f"{ref.numpy_us:.1f}" if ref.numpy_us else "-"
        numpy_gflops = f"{ref.flops / (ref.numpy_us * 1e3):.1f}" if ref.numpy_us else "-"
        lines.append(
            f"| {workload} | {ref.flops / 1e6:.1f} | {_fmt(ref.unscheduled_us)} | {numpy} "
            f"| {numpy_gflops} | {ref.peak_bound_us:.2f} |"
        )
    return lines + [""]


def render_report(
    results,
    budgets: Sequence[int],
    *,
    command: str = "",
    out_dir: str = "",
    notes: Sequence[str] = (),
    ours: str | None = None,
) -> str:
    """The ``## Tuning curves`` Markdown section for whatever runs ``results`` holds.

    Parameters
    ----------
    results : BenchResults
        Finished runs and references (possibly a partial matrix).
    budgets : sequence of int
        One table per budget.
    command : str
        The command line that produced the results.
    out_dir : str
        Where the JSON/CSV/PNG files are, for the reader.
    notes : sequence of str
        Caveats to list (machine load, ...).
    ours : str or None
        Display name of the strategy to compare with the others
        (:func:`~tvm_llm_sched.bench.compare.comparison_lines`); by default the first of
        :data:`OURS` that ran; absent: no comparison.
    """
    runs, references = results.runs, results.references
    if ours is None:
        labels = {run.strategy for run in runs}
        ours = next((name for name in OURS if name in labels), None)
    rows = summary_rows(runs, references, budgets)
    workloads = list(dict.fromkeys(run.workload for run in runs))
    any_ref = next(iter(references.values()), None)
    per_iter = sorted({run.num_trials_per_iter for run in runs})
    max_trials = sorted({run.max_trials for run in runs})
    builders = sorted({run.builder for run in runs})
    attempts = [run.run_id for run in runs if run.attempt > 1]
    lines = [
        SECTION_TITLE,
        "",
        f"Best latency found by each search strategy after N measured trials, next to the "
        f"unscheduled program, NumPy (matmul-shaped workloads) and the fp32 peak. "
        f"{len(runs)} finished run(s) over {len(workloads)} workload(s).",
        "",
        f"- Command: `{command or (runs[0].command if runs else '')}`",
    ]
    if any_ref is not None:
        lines += [
            f"- Target: `{any_ref.target}`; {any_ref.cpu}",
            f"- fp32 peak: {any_ref.peak_formula}",
        ]
    lines += [
        f"- `ms.tune_tir` with `num_trials_per_iter={', '.join(map(str, per_iter))}`, one task, "
        f"LocalBuilder (`--builder {', '.join(builders)}`; `lean` skips each fresh build worker's "
        "~25 s-CPU import of `tvm.s_tir.tensor_intrin`, same artifacts) and LocalRunner (number=3, "
        "repeat=1, min_repeat_ms=100), XGB cost model, the same settings for every strategy; "
        "a trial's latency is the mean of its `run_secs`.",
        f"- Each (workload, strategy, seed) was tuned once at {', '.join(map(str, max_trials))} "
        "trials; smaller budgets are read off its best-so-far curve (wall time = end of the "
        "iteration holding that trial)."
        if len(max_trials) == 1
        else "- Each budget was tuned in its own run (`--separate-budgets`).",
        "- Strategies run interleaved per workload (workload, then seed, then strategy) so "
        "machine drift hits all alike. Times: search = inside the strategy; build = LocalBuilder; "
        "run = LocalRunner incl. waiting on it; update = MetaSchedule's measure callbacks "
        "(database commit + XGB cost-model update, paid by every strategy).",
        "- Cells: median over seeds, [min-max] when several. `x unscheduled` = unscheduled "
        "latency / best (< 1: slower than the program as written); `NumPy / best` > 1 means "
        "the tuned program beats NumPy. A strategy that stops early (its search space ran "
        "out) is read at its last trial.",
    ]
    if attempts:
        lines.append(f"- Restarted from scratch after an interruption: {', '.join(attempts)}.")
    lines += [f"- Note: {note}" for note in notes]
    if out_dir:
        lines.append(f"- Full data (per-trial JSON, summary.csv, PNG curves): `{out_dir}`")
    lines.append("")
    for budget in sorted(budgets):
        lines += _budget_table(rows, budget)
    if ours and len(per_iter) == 1:
        lines += comparison_lines(rows, ours, trials_per_iter=per_iter[0])
    lines += _references_table(references, workloads)
    return "\n".join(lines)


def write_section(path: Path, section: str, title: str = SECTION_TITLE) -> None:
    """Put ``section`` into a Markdown file, replacing only its own ``## `` section.

    A missing file is created with a ``# Benchmarks`` title; other sections are kept as they are.
    """
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(title)}\s*$.*?(?=^## |\Z)", re.M | re.S)
    body = section.rstrip() + "\n\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + body
    path.write_text(text.rstrip() + "\n")


def _source_commit() -> str:
    """The short commit (``+dirty`` with uncommitted changes) of the checkout holding the running
    script, or ``unknown``. The script's checkout, not this file's: an installed package may
    sit inside some other repository (pyenv's, for one)."""
    import subprocess
    import sys

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(sys.argv[0]).resolve().parent,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def publish_section(
    lines: list[str], script: str, argv: list[str], title: str, path: str | Path | None
) -> str:
    """Close a benchmark section with the command that produced it, print it, and write it into
    ``path`` (when given) with :func:`write_section`; returns the section text.

    Parameters
    ----------
    lines : list of str
        The section's lines, heading first.
    script : str
        The script's path as run from the repository root (``python/bench_expert.py``).
    argv : list of str
        Its arguments.
    """
    command = f"python {script} {' '.join(argv)}".strip()
    section = "\n".join([*lines, "", f"Command: `{command}` at commit {_source_commit()}", ""])
    print(section)
    if path:
        write_section(path, section, title)
    return section
