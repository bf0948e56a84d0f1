"""The dataset card: what is in a dataset and how it was made (``card.json`` and ``card.md``)."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import DatasetConfig, DatasetReport
    from .sample import Sample

CARD_JSON = "card.json"
CARD_MD = "card.md"


def _speedups(samples: list[Sample]) -> dict[str, Any]:
    values = sorted(s.speedup for s in samples if s.speedup is not None)
    if not values:
        return {"count": 0}
    quantiles = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    return {
        "count": len(values),
        "min": values[0],
        "p10": quantiles[0],
        "median": statistics.median(values),
        "p90": quantiles[-1],
        "max": values[-1],
        "faster": sum(v > 1 for v in values),
    }


def card_data(
    *,
    samples: list[Sample],
    report: DatasetReport,
    config: DatasetConfig,
    sources: list[dict[str, Any]],
    command: str,
) -> dict[str, Any]:
    """The card as JSON-ready data."""
    per_workload: Counter = Counter(f"{s.workload_key} ({s.split})" for s in samples)
    return {
        "command": command,
        # jobs changes how fast, not what: left out so the card is the same whatever it was
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "jobs"},
        "prompt_profile": {
            **config.profile.card(),
            "history": "the recorded call's when the run recorded one, else a fresh search's",
        },
        "sources": sources,
        "samples": len(samples),
        "kinds": dict(Counter(s.kind for s in samples).most_common()),
        "origins": dict(Counter(s.origin for s in samples)),
        "strategy_sources": dict(Counter(s.source for s in samples)),
        "splits": dict(Counter(s.split for s in samples)),
        "workloads": dict(per_workload),
        "with_recorded_situation": sum(s.situation is not None for s in samples),
        "failed_after": sum(s.after.error is not None for s in samples),
        "speedup": _speedups(samples),
        "lines": report.lines,
        "verification": {
            "emitted_samples_passing_replay_check": len(samples),
            "rate": 1.0 if samples else None,
            "dropped_by_replay_check": sum(
                count
                for reason, count in report.counts["dropped"].items()
                if reason.startswith("replay check failed")
            ),
        },
        "read": report.counts["read"],
        "dropped": report.counts["dropped"],
        "notes": report.counts["notes"],
        "seconds": round(report.seconds, 2),
    }


def _markdown(data: dict[str, Any]) -> str:
    def table(title: str, counts: dict[str, Any]) -> list[str]:
        rows = [f"| {k} | {v} |" for k, v in counts.items()] or ["| (none) | 0 |"]
        return [f"### {title}", "", "| | count |", "|---|---|", *rows, ""]

    speed = data["speedup"]
    lines = [
        "# Dataset card",
        "",
        f"Made by `{data['command']}` in {data['seconds']} s.",
        "",
        f"{data['samples']} samples, every one replay-checked (the before state plus the steps is "
        "structurally equal to the after record's program); "
        f"{data['verification']['dropped_by_replay_check']} edges failed the check and were "
        "dropped.",
        "",
        f"Prompt profile `{data['prompt_profile']['name']}`: menu "
        f"{data['prompt_profile']['menu_limit']}, reply "
        f"{data['prompt_profile']['reply']}, IR {data['prompt_profile'].get('ir', 'full')}; "
        f"history: {data['prompt_profile']['history']}.",
        "",
    ]
    if speed.get("count"):
        lines += [
            f"Speedup (before / after) over {speed['count']} samples with both ends measured: "
            f"median {speed['median']:.3f}, p10 {speed['p10']:.3f}, p90 {speed['p90']:.3f}, "
            f"{speed['faster']} faster.",
            "",
        ]
    lines += table("Samples per kind", data["kinds"])
    lines += table("Lines per format and split", data["lines"])
    lines += table("Origins", data["origins"])
    lines += table("Samples per workload", data["workloads"])
    lines += table("Dropped", data["dropped"])
    lines += table("Skipped while reading", data["read"]["skipped"])
    lines += table("Notes", data["notes"])
    lines += ["### Sources", ""] + [
        f"- {s['work_dir']}: {s['records']} records, lineage {'yes' if s['lineage'] else 'no'}"
        for s in data["sources"]
    ]
    return "\n".join(lines) + "\n"


def write_card(out: Path, **fields: Any) -> dict[str, Any]:
    """Write ``card.json`` and ``card.md`` into ``out``; returns the card data."""
    data = card_data(**fields)
    (out / CARD_JSON).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / CARD_MD).write_text(_markdown(data), encoding="utf-8")
    return data
