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


# MetaSchedule's perfect tiles stop at 64 (``max_innermost_factor``), and so does its vectorize
# postprocessor (the root's ``meta_schedule.vectorize`` annotation).
MAX_VECTOR_LOOP = 64


def fills_no_vector(extent: int, lanes: int) -> bool:
    """Whether no perfect tile of ``extent`` holds one to :data:`MAX_VECTOR_LOOP` iterations and at
    least a vector of ``lanes``: then no rfactor of MetaSchedule's design space vectorizes a
    reduction over it (a prime row length).

    Examples
    --------
    >>> fills_no_vector(1777, 16), fills_no_vector(1000, 16), fills_no_vector(1777, 1)
    (True, False, False)
    """
    return not any(extent % d == 0 for d in range(max(lanes, 1), MAX_VECTOR_LOOP + 1))
