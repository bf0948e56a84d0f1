"""Throughput of the native hashing/dedup extension against the pure-Python fallback.

Measures per-item and batched XXH64 hashing, canonical (naming-invariant) hashing, and
dedup of int64 hashes: native ``DedupSet.insert_many`` against a plain Python ``set`` loop
(the foundation issue's target: batched native dedup >= 5x faster than the set loop).

Usage (from the repo root, with the package installed by ``pip install .``)::

    python python/bench_hashing.py --n 1000000 --write-benchmarks BENCHMARKS.md

Timings are the best of ``--repeats`` runs (wall clock, one thread).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tvm_llm_sched.native import HashBackend, backends, native_library_path

SECTION = "## Hashing and dedup"
LOOP_WORDS = ("for", "in")


@dataclass(frozen=True, kw_only=True)
class Row:
    """One measured operation: seconds per backend for ``items`` items."""

    task: str
    items: int
    seconds: dict[str, float]
    speedup_of: tuple[str, str]  # (fast, baseline) names in ``seconds``


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Best wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def step_texts(n: int, distinct: int) -> list[str]:
    """``n`` step-IR-like lines (~60 ASCII bytes) drawn from ``distinct`` different ones."""
    return [
        f"for l{i % 7} in 0..{i % 64}: sample_perfect_tile(l{i % 5}, n=4) -> d{i % distinct}"
        for i in range(n)
    ]


def python_set_loop(hashes: np.ndarray) -> list[bool]:
    """The baseline: which hashes are new, with a Python ``set``, one item at a time."""
    seen: set[int] = set()
    new = []
    for h in hashes.tolist():
        if h in seen:
            new.append(False)
        else:
            seen.add(h)
            new.append(True)
    return new


def measure(impls: dict[str, HashBackend], n: int, repeats: int) -> list[Row]:
    """Run every benchmark on every backend in ``impls``."""
    texts = step_texts(n, distinct=max(1, n * 7 // 10))
    hashes = impls["python"].hash_many(texts)
    rows = []

    def per_backend(task: str, count: int, op: Callable[[HashBackend], object]) -> None:
        seconds = {name: best_of(repeats, lambda i=impl: op(i)) for name, impl in impls.items()}
        rows.append(Row(task=task, items=count, seconds=seconds, speedup_of=("native", "python")))

    per_backend("hash_text, one call per item", n, lambda b: [b.hash_text(t) for t in texts])
    per_backend("hash_many, batched", n, lambda b: b.hash_many(texts))
    small = texts[: max(1, n // 10)]
    per_backend(
        "canonical_hash, one call per item",
        len(small),
        lambda b: [b.canonical_hash(t, LOOP_WORDS) for t in small],
    )
    per_backend(
        "canonical_hash_many, batched", n, lambda b: b.canonical_hash_many(texts, LOOP_WORDS)
    )
    per_backend("DedupSet.insert, one call per item", n, _insert_each(hashes))

    dedup = {"python set loop": best_of(repeats, lambda: python_set_loop(hashes))}
    for name, impl in impls.items():
        dedup[f"{name} insert_many"] = best_of(
            repeats, lambda impl=impl: impl.dedup_set().insert_many(hashes)
        )
    rows.append(
        Row(
            task="dedup, batched",
            items=n,
            seconds=dedup,
            speedup_of=("native insert_many", "python set loop"),
        )
    )
    return rows


def _insert_each(hashes: np.ndarray) -> Callable[[HashBackend], object]:
    values = hashes.tolist()

    def run(impl: HashBackend) -> object:
        insert = impl.dedup_set().insert
        return [insert(h) for h in values]

    return run


def render(rows: list[Row], command: str, n: int) -> str:
    """The ``## Hashing and dedup`` section of BENCHMARKS.md."""
    lines = [
        SECTION,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()} `{platform.processor() or platform.platform()}`, "
        f"Python {platform.python_version()}, numpy {np.__version__}; "
        f"native library: `{native_library_path()}`. Best of several runs, one thread; "
        f"texts are ~60-byte ASCII step-IR lines, {n:,} items with ~30% duplicates.",
        "",
        "| task | items | variant | seconds | ns/item | speedup |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        fast, base = row.speedup_of
        ratio = row.seconds[base] / row.seconds[fast] if fast in row.seconds else float("nan")
        for variant, sec in row.seconds.items():
            speed = f"{ratio:.1f}x" if variant == fast else ""
            lines.append(
                f"| {row.task} | {row.items:,} | {variant} | {sec:.3f} | "
                f"{sec / row.items * 1e9:.0f} | {speed} |"
            )
    lines += [
        "",
        "Speedup = baseline seconds / native seconds (baseline: the pure-Python backend; for",
        "dedup, a plain Python `set` loop over the same int64 hashes). Per-item native calls pay",
        "the tvm-ffi call and string-conversion cost (~1 us), so prefer the batched calls. Batched",
        "native hashing packs texts into one NUL-separated uint8 buffer per 16,384 texts; joining",
        "and encoding the Python strings is most of its cost, so plain hashing gains little, while",
        "canonical hashing and dedup, where the work is in C++, win clearly. The machine is a",
        f"shared 2-core VM (load average {os.getloadavg()[0]:.1f} at the end of this run):",
        "absolute numbers vary ~2x with load, ratios less.",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace (or append) our section of ``path``, leaving other sections untouched."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = section.rstrip("\n") + "\n\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmarks, print (and optionally record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="items per benchmark")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument(
        "--write-benchmarks",
        type=Path,
        default=None,
        metavar="PATH",
        help="replace the '## Hashing and dedup' section of this markdown file",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1:
        parser.error("--n and --repeats must be positive")
    impls = backends()
    if "native" not in impls:
        print("native backend not available: build it with `pip install .`", file=sys.stderr)
        return 1
    rows = measure(impls, args.n, args.repeats)
    command = "python python/bench_hashing.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    section = render(rows, command.strip(), args.n)
    print(section)
    if args.write_benchmarks is not None:
        write_section(args.write_benchmarks, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
