"""Whether two benchmark runs measured the same candidates, trace for trace, in the same order.

A freshness check for refactors that must not change the search: run the same small matrix
(e.g. ``--trials 16 --seeds 0``, one batch) at two commits, then::

    python python/compare_first_batch.py OLD_OUT NEW_OUT [--records 16]

compares, for every run both output directories hold, the first ``--records`` tuning records of
its work dir (``database_tuning_record.json``, in the order they were committed) by their traces.
Exit status 0 when every run matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def traces(work_dir: Path, count: int) -> list[str]:
    """The first ``count`` records' traces (canonical JSON text) of a work dir, in file order."""
    lines = (work_dir / "database_tuning_record.json").read_text().splitlines()
    out = []
    for line in lines[:count]:
        _, (trace, *_rest) = json.loads(line)
        out.append(json.dumps(trace, sort_keys=True))
    return out


def main(argv: list[str] | None = None) -> int:
    """Compare the runs of two benchmark output directories; print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--records", type=int, default=16, help="records compared per run")
    args = parser.parse_args(argv)
    runs = sorted(
        p.name for p in (args.old / "work").iterdir() if (args.new / "work" / p.name).is_dir()
    )
    if not runs:
        print("no run in common")
        return 1
    same_all = True
    for run in runs:
        old = traces(args.old / "work" / run, args.records)
        new = traces(args.new / "work" / run, args.records)
        differ = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
        same = len(old) == len(new) and not differ
        same_all &= same
        detail = f"first difference at record {differ[0]}" if differ else f"{len(old)} records"
        if len(old) != len(new):
            detail += f" ({len(old)} vs {len(new)} records)"
        print(f"{run}: {'same' if same else 'DIFFERENT'} ({detail})")
    return 0 if same_all else 1


if __name__ == "__main__":
    sys.exit(main())
