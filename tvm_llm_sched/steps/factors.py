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
