"""How well the expert policy's prior ranks programs that were measured, without measuring.

Every measured record of a set of MetaSchedule work dirs (any strategy's) has its decisions rebuilt
on its workload and scored by :meth:`~tvm_llm_sched.proposers.ExpertPolicy.prior` for the CPU the
record names; per workload, :func:`fit` says how the scores rank the latencies. A cheap gate before
the interleaved A/B a change of the prior needs (``python/prior_fit.py`` at both commits).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

from ..dataset.edits import without_postproc
from ..dataset.workdir import WorkDir
from ..errors import StepError
from ..hardware import detect_cpu
from ..proposers import ExpertPolicy
from ..proposers.facts import CpuFacts, Facts
from ..search.facts import cpu_facts, decision_facts
from ..steps.state import State

__all__ = ["Fit", "fit", "report", "scored_records"]

# Share of the prior's best-scored programs whose median latency is reported.
TOP_SHARE = 0.05


def scored_records(path: str, l2_kib: int | None) -> tuple[str, list[tuple[float, float]], int]:
    """``(workload label, [(latency_us, prior score)], skipped)`` of one work dir's records.

    The label is the directory name before ``__`` (``bench_tuning.py`` names runs
    ``<workload>__<strategy>__s<seed>__t<budget>``). Records that failed to build or run are left
    out; ``skipped`` counts the measured ones whose trace does not replay on this TVM, and the
    lines the work dir reader could not use (torn or malformed).
    """
    import tvm

    work_dir = WorkDir(path)
    label = Path(path).name.split("__")[0]
    out = []
    skipped = sum(work_dir.counts.skipped.values())
    cpus: dict[str, CpuFacts] = {}  # by target JSON
    for record in work_dir.records:
        if record.latency_us is None:
            continue
        entry = work_dir.workloads[record.workload]  # the reader keeps only records of a workload
        key = str(record.target_json)
        if key not in cpus:
            cpu = cpu_facts(detect_cpu(tvm.target.Target(record.target_json)))
            cpus[key] = dataclasses.replace(cpu, l2_kib=l2_kib) if l2_kib else cpu
        try:
            state = State.from_trace_json(entry.mod, without_postproc(record.trace_json))
        except (StepError, ValueError):  # a record another TVM wrote: not this one's
            skipped += 1
            continue
        facts = Facts(decisions=decision_facts(state.schedule, entry.mod), cpu=cpus[key])
        out.append((record.latency_us, ExpertPolicy.prior(facts)))
    return label, out, skipped


@dataclasses.dataclass(frozen=True)
class Fit:
    """How the prior ranks one workload's measured programs."""

    records: int
    spearman: float
    top_over_best: float
    fastest_rank: float


def fit(records: list[tuple[float, float]]) -> Fit:
    """The rank statistics of ``records`` (latency, score).

    Raises
    ------
    ValueError
        Fewer than two records.
    """
    from scipy.stats import rankdata, spearmanr

    if len(records) < 2:
        raise ValueError(f"need at least two measured records to rank, got {len(records)}")
    latencies = [lat for lat, _ in records]
    scores = [score for _, score in records]
    best = min(latencies)
    top_count = min(len(scores), max(8, int(len(scores) * TOP_SHARE)))
    cut = sorted(scores, reverse=True)[top_count - 1]
    top = [lat for lat, score in records if score >= cut]
    ranks = rankdata([-score for score in scores])  # ties share their average rank
    fastest = sorted(range(len(records)), key=latencies.__getitem__)[:5]
    return Fit(
        records=len(records),
        spearman=float(spearmanr(scores, [-lat for lat in latencies]).statistic),
        top_over_best=statistics.median(top) / best,
        fastest_rank=statistics.median(ranks[i] / len(records) for i in fastest),
    )


def report(fits: dict[str, Fit]) -> str:
    """A markdown table of the fits and their means over workloads (geometric for the latency
    ratio)."""
    lines = [
        "| workload | records | Spearman | top 5 % median / best | rank of the 5 fastest |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, f in sorted(fits.items()):
        lines.append(
            f"| {name} | {f.records} | {f.spearman:+.2f} | {f.top_over_best:.2f} | "
            f"{f.fastest_rank:.2f} |"
        )
    values = list(fits.values())
    # A workload whose programs all score the same has no correlation (nan); leave it out.
    correlations = [f.spearman for f in values if not math.isnan(f.spearman)] or [math.nan]
    geo = math.exp(statistics.mean(math.log(f.top_over_best) for f in values))
    lines.append(
        f"| mean | {sum(f.records for f in values)} | {statistics.mean(correlations):+.2f} | "
        f"{geo:.2f} | {statistics.mean(f.fastest_rank for f in values):.2f} |"
    )
    return "\n".join(lines)
