"""Build a step-level dataset from MetaSchedule work dirs (``tvm-llm-sched dataset build``).

The pipeline, one way through:

1. read every work dir (:class:`~tvm_llm_sched.dataset.workdir.WorkDir`), counting what cannot be
   used;
2. find edges between records of one workload: the lineage an LLMGuidedSearch run wrote (proposer
   steps, mutations as decision edits) and, for every work dir, pairs of records of one design
   space at most ``max_edits`` decision edits apart (the nearest ``neighbours`` of each record);
3. make each edge a :class:`~tvm_llm_sched.dataset.sample.Sample` by replaying it: the before
   state plus the steps must be structurally equal to the after record's program, or the edge is
   counted and dropped (so 100 % of emitted samples pass the check);
4. filter, deterministically: no-op steps, inverse-pair shortcuts, duplicates by the canonical
   hash of the before and after IR, per-kind caps; split train/validation by workload;
5. write ``samples.jsonl`` and ``workloads.jsonl``, the requested formats, and the card.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import logging
import multiprocessing
import os
import random
import shlex
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..database.lineage import trace_key
from ..errors import DatasetError, StepError
from ..proposers.prompts import PROMPT_PROFILES, PromptProfile
from ..steps import parse_step
from .card import write_card
from .edits import (
    decision_edits,
    decision_value,
    sampled_decisions,
    skeleton_key,
    without_postproc,
)
from .formats import FORMATS, chat_line, pair_line, steptp_line
from .sample import End, Sample, state_of
from .workdir import ReadCounts, RecordLine, WorkDir

logger = logging.getLogger("tvm_llm_sched.dataset")

SAMPLES_FILE = "samples.jsonl"
WORKLOADS_FILE = "workloads.jsonl"
FAILED = "failed to build or run"
REPLAY_CHECK = "replay check failed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """How a dataset is built.

    Attributes
    ----------
    formats : tuple[str, ...]
        Any of :data:`~tvm_llm_sched.dataset.formats.FORMATS`.
    seed : int
        Seeds the kind caps and the train/validation split.
    max_edits : int
        Records of one design space at most this many decision edits apart become samples (more
        than one: a trajectory through unmeasured intermediate states).
    neighbours : int
        Per record, the nearest other records it is paired with.
    min_speedup : float
        A step is a ``chat``/``steptp`` target only if it made the program at least this much
        faster (measurement noise within one run is a few percent); a sibling at most
        ``1 / min_speedup`` as fast, or failing, is a ``pairs`` rejection.
    kind_ratio : float
        The most frequent step kind keeps at most this many times the samples of the rarest...
    min_kind_samples : int
        ...among kinds with at least this many samples (rarer kinds are kept whole, not capping).
    validation_fraction : float
        Share of workloads held out for validation (at least one when there are two or more).
    profile : PromptProfile
        What the user turn holds and the reply mode (``PROMPT_PROFILES["full"]``: the prompt a
        model proposer gets from LLMGuidedSearch by default).
    jobs : int
        Processes replaying and formatting (one work-dir workload per process at a time; 0: one
        per CPU, as the CLI does). The data files do not depend on it. More than one spawns
        worker processes: a script calling :func:`build_dataset` then needs the usual
        ``if __name__ == "__main__":`` guard.
    """

    formats: tuple[str, ...] = FORMATS
    seed: int = 0
    max_edits: int = 3
    neighbours: int = 4
    min_speedup: float = 1.05
    kind_ratio: float = 5.0
    min_kind_samples: int = 10
    validation_fraction: float = 0.2
    profile: PromptProfile = PROMPT_PROFILES["full"]
    jobs: int = 1

    def __post_init__(self) -> None:
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown formats {sorted(unknown)}; choose from {list(FORMATS)}")
        if self.max_edits < 1 or self.neighbours < 1 or self.min_speedup < 1:
            raise ValueError("max_edits and neighbours must be >= 1, min_speedup >= 1")


@dataclasses.dataclass
class DatasetReport:
    """What :func:`build_dataset` wrote and counted."""

    out: Path
    samples: int
    lines: dict[str, int]
    kinds: dict[str, int]
    counts: dict[str, Any]
    seconds: float
    records: int


@dataclasses.dataclass(frozen=True)
class _Edge:
    before: RecordLine | None
    after: RecordLine
    steps: tuple[str, ...]
    origin: str
    source: str
    parent_trace: Any = None
    error: str | None = None


class _Task:
    """One workload of one work dir: its records, states (cached) and situation builder."""

    def __init__(self, work_dir: WorkDir, index: int, records: list[RecordLine]):
        self.work_dir = work_dir
        self.entry = work_dir.workloads[index]
        self.records = records
        self.by_key = {r.key: r for r in records}
        self._states: dict[str, Any] = {}
        self._target: Any = None
        self._situations: Any = None
        # The task name the search showed its proposer (``main`` for ms.tune_tir, the task's name
        # under Relax), when a recorded call tells it.
        self.name = next(
            (
                str(asked.situation.get("workload", "main"))
                for asked in work_dir.situations
                if asked.workload == self.entry.key
            ),
            "main",
        )
        mine = [e for e in work_dir.lineage if e.workload == self.entry.key]
        self.sources = {e.record: e.source for e in mine}  # what made each record

    @property
    def mod(self) -> Any:
        return self.entry.mod

    def situations(self, menu_limit: int) -> Any:
        """The :class:`~tvm_llm_sched.search.situation.SituationBuilder` of this task (one)."""
        if self._situations is None:
            from ..search.situation import SituationBuilder

            self._situations = SituationBuilder(
                workload=self.name, target=self.target, menu_limit=menu_limit
            )
        return self._situations

    @property
    def target(self) -> Any:
        if self._target is None:
            import tvm

            self._target = tvm.target.Target(self.records[0].target_json)
        return self._target

    def state(self, trace_json: Any, key: str | None = None) -> Any:
        """The state of a (postprocessed) trace JSON, cached by record key; raises StepError or
        ValueError if it does not replay."""
        if key is not None and key in self._states:
            return self._states[key]
        state = state_of(self.mod, without_postproc(trace_json))
        if key is not None:
            self._states[key] = state
        return state


def _ordered_unique(edges: Iterable[_Edge]) -> list[_Edge]:
    seen, out = set(), []
    for edge in edges:
        start = edge.before.key if edge.before else trace_key(edge.parent_trace)
        key = (start, edge.after.key, edge.steps)
        if key not in seen:
            seen.add(key)
            out.append(edge)
    return out


def _lineage_edges(task: _Task, counts: Counter) -> list[_Edge]:
    """Edges the search recorded in the lineage side file (for this task's workload)."""
    out = []
    for entry in task.work_dir.lineage:
        if entry.workload != task.entry.key:
            continue
        after = task.by_key.get(entry.record)
        if after is None:
            counts["lineage line without its record"] += 1
            continue
        before = task.by_key.get(entry.parent) if entry.parent else None
        if entry.parent and before is None:
            counts["lineage parent not in the database"] += 1
            continue
        if entry.steps:
            if before is None and entry.parent_trace is None:
                continue  # a sampled candidate: nothing led to it
            out.append(
                _Edge(
                    before,
                    after,
                    entry.steps,
                    "lineage",
                    entry.source,
                    entry.parent_trace,
                    entry.error,
                )
            )
        elif entry.mutator and before is not None:
            edits = decision_edits(before.trace_json, after.trace_json)
            if edits is None:
                counts["mutation not expressible as decision edits"] += 1
            elif edits:
                steps = tuple(s.to_text() for s in edits)
                out.append(_Edge(before, after, steps, "lineage", "mutation", None, entry.error))
    return out


def _decision_edges(task: _Task, config: DatasetConfig) -> list[_Edge]:
    """Pairs of records of one design space, each record with its nearest neighbours."""
    groups: dict[str, list[RecordLine]] = defaultdict(list)
    for record in task.records:
        groups[skeleton_key(record.trace_json)].append(record)
    out = []
    for records in groups.values():
        decided = {r.key: sampled_decisions(r.trace_json) for r in records}
        for before in records:
            if before.latency_us is None:
                continue  # a failed program is no state to step from
            near = []
            for after in records:
                if after.key == before.key:
                    continue
                a, b = decided[before.key], decided[after.key]
                if a.keys() != b.keys():
                    continue
                distance = sum(a[n][1] != b[n][1] for n in a)
                if 1 <= distance <= config.max_edits:
                    near.append((distance, after.line, after))
            for _, _, after in sorted(near, key=lambda t: t[:2])[: config.neighbours]:
                edits = decision_edits(before.trace_json, after.trace_json) or []
                steps = tuple(s.to_text() for s in edits)
                source = task.sources.get(after.key, "unknown")
                out.append(_Edge(before, after, steps, "decisions", source))
    return out


class _Dropped(Exception):
    """An edge that fails the replay check; the message is the reason counted in the card."""


def _end(task: _Task, record: RecordLine | None, trace_json: Any, error: str | None) -> Any:
    try:
        state = task.state(trace_json, record.key if record else None)
    except (StepError, ValueError, RuntimeError, TypeError) as exc:
        logger.debug("a trace of %s does not replay: %s", task.work_dir.path, exc)
        raise _Dropped("a record's trace does not replay") from exc
    end = End(
        trace=without_postproc(trace_json),
        ir=state.ir,
        record=record.key if record else None,
        latency_us=record.latency_us if record else None,
        error=(error or FAILED) if record is not None and record.latency_us is None else None,
    )
    return state, end


def _sample(task: _Task, edge: _Edge, hardware: str) -> Sample:
    """Replay ``edge``; raises :class:`_Dropped` when it fails the replay check."""
    import tvm_ffi

    trace = edge.before.trace_json if edge.before else edge.parent_trace
    state, before = _end(task, edge.before, trace, None)
    intermediate = []
    for number, step in enumerate(edge.steps):
        try:
            state = state.apply(step)
        except StepError as exc:
            logger.debug("%s does not apply in %s: %s", step, task.work_dir.path, exc)
            raise _Dropped("a step does not apply to the before state") from exc
        if number < len(edge.steps) - 1:
            intermediate.append(state.ir)
    after_state, after = _end(task, edge.after, edge.after.trace_json, edge.error)
    if not tvm_ffi.structural_equal(state.scheduled_mod, after_state.scheduled_mod):
        raise _Dropped("the steps do not reproduce the after record's program")
    return Sample(
        workload_key=task.entry.key,
        workload=task.name,
        hardware=hardware,
        work_dir=str(task.work_dir.path),
        origin=edge.origin,
        source=edge.source,
        before=before,
        after=after,
        steps=edge.steps,
        intermediate=tuple(intermediate),
    )


def _is_inverse_shortcut(steps: Sequence[str], before: End) -> bool:
    """Whether a decision edit undoes the previous edit of the same decision (back to its value
    in the before state): the trajectory wanders and comes back."""
    decided = sampled_decisions(before.trace)
    value_before: dict[str, Any] = {f"d{n}": v for n, (_, v) in decided.items()}
    last: dict[str, Any] = {}
    for text in steps:
        step = parse_step(text)
        if not step.is_decision_edit:
            continue
        name, value = step["decision"], decision_value(step)
        if name in last and value == value_before.get(name):
            return True
        last[name] = value
    return False


def _attach_situations(task: _Task, samples: list[Sample]) -> list[Sample]:
    """Give lineage proposer samples the situation the search showed its proposer."""
    from ..ir import state_hash
    from ..proposers.base import Situation

    asked: dict[int, list[Any]] = defaultdict(list)
    for entry in task.work_dir.situations:
        if entry.workload != task.entry.key:
            continue
        try:
            Situation.from_json(entry.situation)  # only a situation that parses is used
        except (ValueError, KeyError, TypeError):
            task.work_dir.counts.skipped["malformed situation line"] += 1
            continue
        asked[state_hash(entry.situation["ir"])].append(entry)
    if not asked:
        return samples
    out = []
    for sample in samples:
        match = None
        if sample.origin == "lineage" and sample.source == "proposer" and len(sample.steps) == 1:
            for entry in asked.get(state_hash(sample.before.ir), ()):
                if sample.steps[0] in entry.proposed:
                    match = entry
                    break
        if match is not None:
            sample = dataclasses.replace(sample, situation=match.situation, k=match.k)
        out.append(sample)
    return out


def _capped(samples: list[Sample], config: DatasetConfig, rng: random.Random) -> list[Sample]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    common = [len(v) for v in by_kind.values() if len(v) >= config.min_kind_samples]
    if not common:
        return samples
    cap = int(config.kind_ratio * min(common))
    keep: set[int] = set()
    for group in by_kind.values():
        chosen = group if len(group) <= cap else rng.sample(group, cap)
        keep.update(id(s) for s in chosen)
    return [s for s in samples if id(s) in keep]


def _split(samples: list[Sample], config: DatasetConfig, rng: random.Random) -> list[Sample]:
    workloads = sorted({s.workload_key for s in samples})
    rng.shuffle(workloads)
    count = round(config.validation_fraction * len(workloads))
    held = set(workloads[: max(count, 1 if len(workloads) >= 2 else 0)])
    return [
        dataclasses.replace(s, split="validation" if s.workload_key in held else "train")
        for s in samples
    ]


class _History:
    """The history a sample without a recorded call shows: that of a search at this state with
    nothing else measured yet (its own latency is the best so far; no outcomes, no rejections)."""

    def __init__(self, best_latency_us: float | None):
        self.best_latency_us = best_latency_us
        self.recent = ()
        self.rejections = ()


def _inputs(mod: Any) -> str:
    from ..measure.timing import arg_shapes

    return ", ".join(
        f"arg{i}: {dtype}[{'x'.join(map(str, shape))}]"
        for i, (shape, dtype) in enumerate(arg_shapes(mod))
    )


class _Writer:
    """Writes the format files of both splits, counting lines."""

    def __init__(self, out: Path, formats: Sequence[str]):
        self.files = {
            (fmt, split): (out / f"{fmt}_{split}.jsonl").open("w", encoding="utf-8")
            for fmt in formats
            for split in ("train", "validation")
        }
        self.lines: Counter = Counter()

    def write(self, fmt: str, split: str, line: dict[str, Any]) -> None:
        handle = self.files.get((fmt, split))
        if handle is not None:
            handle.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.lines[f"{fmt}_{split}"] += 1

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def _format_lines(
    task: _Task, samples: list[Sample], config: DatasetConfig
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(format, split, line)`` for one task's samples: per before state, the best step if it
    made the program at least ``min_speedup`` faster (``chat``, ``steptp``), and its pairs with
    slower or failing siblings (``pairs``)."""
    by_state: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        if len(sample.steps) == 1 and sample.before.latency_us is not None:
            by_state[sample.before.ir].append(sample)
    out: list[tuple[str, str, dict[str, Any]]] = []
    for siblings in by_state.values():
        ran = [s for s in siblings if s.speedup is not None]
        best = max(ran, key=lambda s: s.speedup) if ran else None
        if best is None or best.speedup < config.min_speedup:
            continue
        try:
            out += _state_lines(task, best, siblings, config)
        except Exception:  # a state whose prompt cannot be built: its lines are left out
            logger.warning("no training lines for a state of %s", task.work_dir.path, exc_info=True)
    return out


def _state_lines(
    task: _Task, best: Sample, siblings: list[Sample], config: DatasetConfig
) -> list[tuple[str, str, dict[str, Any]]]:
    """The lines of one before state: ``best`` as the target, slower or failing siblings as the
    rejected side of pairs."""
    from ..proposers.base import Situation

    state = task.state(best.before.trace, best.before.record)
    # A recorded call is what the search sent; it is this profile's prompt only if its menu is
    # (an expert-policy run records situations without a menu).
    wants_menu = config.profile.menu_limit > 0
    recorded = next(
        (
            s
            for s in siblings
            if s.situation is not None and bool(s.situation.get("menu")) == wants_menu
        ),
        None,
    )
    if recorded is not None:
        situation, k = Situation.from_json(recorded.situation), recorded.k or 1
    else:
        history = _History(best.before.latency_us)
        situation = task.situations(config.profile.menu_limit).build(
            state, latency_us=best.before.latency_us, history=history
        )
        k = 1
    if config.profile.menu_limit and situation.menu:
        situation = _target_on_menu(situation, best, config)
    names, split, profile = state.names, best.split, config.profile
    out: list[tuple[str, str, dict[str, Any]]] = []
    if "chat" in config.formats:
        out.append(("chat", split, chat_line(best, situation, k=k, names=names, profile=profile)))
    if "steptp" in config.formats:
        out.append(("steptp", split, steptp_line(best, situation, _inputs(task.mod), names)))
    if "pairs" in config.formats:
        for other in siblings:
            slower = other.speedup is not None and other.speedup * config.min_speedup <= 1
            if other is not best and (slower or other.after.latency_us is None):
                line = pair_line(best, other, situation, k=k, names=names, profile=profile)
                out.append(("pairs", split, line))
    return out


def _target_on_menu(situation: Any, best: Sample, config: DatasetConfig) -> Any:
    """``situation`` with ``best``'s step on its menu.

    A model served with a menu profile and constrained decoding can only name menu steps, and
    the menu shows the first ``menu_limit`` of the legal steps: an example whose step is not
    among them teaches a choice the model can never make. The step takes a seeded position (a
    fixed slot would teach the slot), the menu keeps the profile's size (a recorded call's longer
    menu is cut to it).
    """
    target = parse_step(best.steps[0])
    limit = config.profile.menu_limit
    menu = list(situation.menu)[:limit]  # a recorded call may have shown a longer menu
    if target.to_text() not in {step.to_text() for step in menu}:
        rng = random.Random(f"{config.seed}:{best.before.record}:{best.steps[0]}")
        menu = menu[: limit - 1]
        menu.insert(rng.randrange(len(menu) + 1), target)
    return dataclasses.replace(situation, menu=tuple(menu))


@dataclasses.dataclass(frozen=True)
class _TaskRef:
    """One workload of one work dir, as a worker process opens it."""

    path: str
    index: int

    def open(self) -> _Task:
        """The task, read once per process (phase 3 reuses phase 1's replayed states)."""
        return _open_task(self.path, self.index)


@functools.cache
def _open_task(path: str, index: int) -> _Task:
    work_dir = WorkDir(path)
    return _Task(work_dir, index, [r for r in work_dir.records if r.workload == index])


def _task_samples(ref: _TaskRef, config: DatasetConfig) -> tuple[list[Sample], Counter]:
    """Phase 1 of a build, per task (in a worker process when there are several)."""
    counts: Counter = Counter()
    try:
        task = ref.open()
        edges = _ordered_unique(_lineage_edges(task, counts) + _decision_edges(task, config))
        return _replay(task, edges, counts), counts
    except Exception as exc:  # e.g. a target or workload TVM cannot decode: skip this workload
        logger.warning("skipped workload %d of %s: %s", ref.index, ref.path, exc)
        counts[f"workload skipped: {type(exc).__name__}"] += 1
        return [], counts


def _task_lines(
    ref: _TaskRef, samples: list[Sample], config: DatasetConfig
) -> list[tuple[str, str, dict[str, Any]]]:
    """Phase 3 of a build, per task: the format lines of its final samples."""
    return _format_lines(ref.open(), samples, config)


def _map(
    fn: Callable[..., Any],
    calls: list[tuple[Any, ...]],
    jobs: int,
    progress: Callable[[int, int], None] | None,
    offset: tuple[int, int],
) -> list[Any]:
    """``[fn(*args) for args in calls]``, in order, on ``jobs`` processes when that helps."""
    done, total = offset
    results = []
    if jobs <= 1 or len(calls) <= 1:
        for args in calls:
            results.append(fn(*args))
            done += 1
            if progress is not None:
                progress(done, total)
        return results
    # spawn, not fork: the parent has TVM's thread pools and FFI state loaded
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(min(jobs, len(calls)), mp_context=context) as pool:
        for result in pool.map(fn, *zip(*calls, strict=True)):
            results.append(result)
            done += 1
            if progress is not None:
                progress(done, total)
    return results


def build_dataset(
    work_dirs: Sequence[str | Path],
    out: str | Path,
    config: DatasetConfig | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    command: str | None = None,
) -> DatasetReport:
    """Build a step-level dataset from MetaSchedule work dirs; never changes a work dir.

    Parameters
    ----------
    work_dirs : sequence of paths
        Work dirs of any strategy (LLMGuidedSearch ones add their lineage).
    out : path
        The output directory (created; files in it are overwritten).
    config : DatasetConfig | None
        Formats, filtering and the prompt profile.
    progress : callable | None
        Called as ``progress(done, total)``; one unit per work-dir workload and phase (replaying,
        then writing the formats).
    command : str | None
        The command line recorded in the card (default: ``sys.argv``).

    Returns
    -------
    DatasetReport

    Raises
    ------
    DatasetError
        No work dir could be read, or none holds a record.
    """
    config = config or DatasetConfig()
    started = time.perf_counter()
    _open_task.cache_clear()  # work dirs may have grown since an earlier build in this process
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    counts: Counter = Counter()  # edges and samples dropped, by reason
    notes: Counter = Counter()  # what else the card should say about the inputs
    read = ReadCounts()
    tasks: dict[tuple[str, str], _Task] = {}
    refs: list[_TaskRef] = []
    sources = []
    for path in work_dirs:
        try:
            work_dir = WorkDir(path)
        except (DatasetError, OSError) as exc:
            counts[f"unreadable work dir: {exc}"] += 1
            continue
        read.merge(work_dir.counts)
        if not work_dir.has_lineage:
            notes["work dirs without a lineage side file (steps from decisions only)"] += 1
        known = {w.key for w in work_dir.workloads if w is not None}
        foreign = sum(e.workload not in known for e in work_dir.lineage)
        if foreign:
            notes["lineage lines of a workload not in the database (skipped)"] += foreign
        sources.append(
            {
                "work_dir": str(path),
                "records": len(work_dir.records),
                "lineage": work_dir.has_lineage,
            }
        )
        for index in sorted({record.workload for record in work_dir.records}):
            task = _Task(work_dir, index, [r for r in work_dir.records if r.workload == index])
            key = (str(task.work_dir.path), task.entry.key)
            if key in tasks:  # the same work dir given twice
                notes["work-dir workloads given more than once (read once)"] += 1
                continue
            tasks[key] = task
            refs.append(_TaskRef(str(path), index))
    if not tasks:
        why = "; ".join(counts) or "the work dirs hold no tuning records"
        raise DatasetError(f"nothing to build a dataset from: {why}")
    jobs = config.jobs or os.cpu_count() or 1
    units = (0, 2 * len(refs))  # progress: one unit per task and phase
    samples = []
    for task_samples, task_counts in _map(
        _task_samples, [(ref, config) for ref in refs], jobs, progress, units
    ):
        samples += task_samples
        counts.update(task_counts)
    samples = _filtered(samples, counts)
    attached = []
    for key, task in tasks.items():
        attached += _attach_situations(
            task, [s for s in samples if (s.work_dir, s.workload_key) == key]
        )
    samples = _split(_capped(attached, config, rng), config, rng)
    with (out / SAMPLES_FILE).open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample.to_json(), separators=(",", ":")) + "\n")
    with (out / WORKLOADS_FILE).open("w", encoding="utf-8") as handle:
        written = set()
        for task in tasks.values():
            if task.entry.key not in written:
                written.add(task.entry.key)
                handle.write(json.dumps(task.entry.line) + "\n")
    per_task = [
        (ref, [s for s in samples if (s.work_dir, s.workload_key) == key], config)
        for ref, key in zip(refs, tasks, strict=True)
    ]
    writer = _Writer(out, config.formats)
    try:
        for task_lines in _map(_task_lines, per_task, jobs, progress, (len(refs), units[1])):
            for fmt, split, line in task_lines:
                writer.write(fmt, split, line)
    finally:
        writer.close()
    lines = dict(writer.lines)
    _open_task.cache_clear()  # the replayed states of this build are not needed any more
    seconds = time.perf_counter() - started
    report = DatasetReport(
        out=out,
        samples=len(samples),
        lines=lines,
        kinds=dict(Counter(s.kind for s in samples)),
        counts={"read": read.to_json(), "dropped": dict(counts), "notes": dict(notes)},
        seconds=seconds,
        records=read.records,
    )
    write_card(
        out,
        samples=samples,
        report=report,
        config=config,
        sources=sources,
        command=command or shlex.join(["tvm-llm-sched", *sys.argv[1:]]),
    )
    return report


def _replay(task: _Task, edges: list[_Edge], counts: Counter) -> list[Sample]:
    """The edges that pass the replay check, as samples; the others counted by reason."""
    from ..ir import hardware_summary

    hardware = hardware_summary(task.target)
    samples = []
    for edge in edges:
        try:
            samples.append(_sample(task, edge, hardware))
        except _Dropped as exc:
            counts[f"{REPLAY_CHECK}: {exc}"] += 1
        except Exception as exc:  # malformed input TVM chokes on: one edge lost, never the build
            logger.debug("an edge of %s failed", task.work_dir.path, exc_info=True)
            counts[f"{REPLAY_CHECK}: unexpected {type(exc).__name__}"] += 1
    return samples


def _filtered(samples: list[Sample], counts: Counter) -> list[Sample]:
    from ..ir import state_hash

    seen, out = set(), []
    for sample in samples:
        before, after = state_hash(sample.before.ir), state_hash(sample.after.ir)
        if before == after:
            counts["no-op step"] += 1
            continue
        if _is_inverse_shortcut(sample.steps, sample.before):
            counts["inverse-pair shortcut"] += 1
            continue
        key = (sample.workload_key, sample.hardware, before, after)
        if key in seen:
            counts["duplicate (same before and after IR)"] += 1
            continue
        seen.add(key)
        out.append(sample)
    return out
