"""How well each candidate source (proposer, mutation, sampling) has been doing lately.

A source that keeps producing candidates near the best deserves its slots in the batch; one whose
candidates stopped landing there (a proposer whose local moves are exhausted late in a long run)
is wasting measurements. :class:`SourceHitRates` counts, per source, the measured candidates that
came within 5 % of the best latency known before their batch, over the last few batches.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

NEAR_BEST = 1.05
"""A candidate is a hit when its latency is at most this factor above the best before its batch."""


class SourceHitRates:
    """Hit counts per source over a sliding window of batches.

    Parameters
    ----------
    window : int
        Batches remembered.

    Examples
    --------
    >>> rates = SourceHitRates(window=4)
    >>> rates.record(["proposer", "mutation", "mutation"], [120.0, 101.0, 99.0], best_before=100.0)
    >>> round(rates.share("proposer", base=0.5, low=0.125, high=0.75), 3)  # 1/3 vs 3/5
    0.278
    """

    def __init__(self, window: int):
        self.batches: collections.deque[collections.Counter] = collections.deque(maxlen=window)

    def record(
        self, sources: Sequence[str], latencies: Sequence[float | None], best_before: float | None
    ) -> None:
        """Count one measured batch (nothing before the first measurement: no best to compare)."""
        if best_before is None:
            return
        batch: collections.Counter = collections.Counter()
        for source, latency in zip(sources, latencies, strict=True):
            batch[source, "measured"] += 1
            if latency is not None and latency <= best_before * NEAR_BEST:
                batch[source, "hit"] += 1
        self.batches.append(batch)

    def _rate(self, totals: collections.Counter, sources: Sequence[str]) -> tuple[float, int]:
        measured = sum(totals[s, "measured"] for s in sources)
        hits = sum(totals[s, "hit"] for s in sources)
        return (hits + 1) / (measured + 2), measured  # Laplace: no data reads as a coin flip

    def share(self, source: str, *, base: float, low: float, high: float) -> float:
        """``base`` scaled by the source's hit rate over the rate of all sources, in [low, high]
        (``base`` itself while nothing is recorded or the source measured nothing)."""
        totals = sum(self.batches, collections.Counter())
        everyone = sorted({s for s, _ in totals})
        mine, measured = self._rate(totals, [source])
        if not measured:
            return base
        overall, _ = self._rate(totals, everyone)
        return min(high, max(low, base * mine / overall))
