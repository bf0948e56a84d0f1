"""Integer factors of loop extents, shared by the legal-step menu and the expert policy."""

from __future__ import annotations


def divisors(n: int) -> list[int]:
    """The positive divisors of ``n``, ascending.

    Examples
    --------
    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    return [d for d in range(1, n + 1) if n % d == 0]


def tile_sizes(extent: int, unit: int, widest: int) -> list[int]:
    """Inner tile sizes for a loop of ``extent`` that should hold whole ``unit``\\ s (SIMD lanes,
    cache-line elements), widest first: ``widest`` units and one unit, those that divide the
    extent; failing both, the largest divisor from half a unit to ``widest`` units (an extent with
    no such divisor, a large prime, gets none). Sizes that leave one outer iteration are left out.

    Examples
    --------
    >>> tile_sizes(768, 16, 4)
    [64, 16]
    >>> tile_sizes(56, 16, 2)
    [28]
    >>> tile_sizes(1777, 16, 2)
    []
    """
    exact = [t for t in (widest * unit, unit) if extent % t == 0 and t < extent]
    if exact:
        return exact
    near = [d for d in divisors(extent) if unit // 2 <= d <= widest * unit and d < extent]
    return near[-1:]
