"""The outcome of one numerical check of a candidate schedule against its reference."""

from __future__ import annotations

import dataclasses

from ..errors import VerificationError


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`~tvm_llm_sched.verify.verify`.

    Attributes
    ----------
    ok : bool
        Every output matched the reference within tolerance for every seed.
    max_abs_err : float
        Largest absolute difference over all outputs and seeds (``inf`` if the candidate did not
        build or run, or produced NaN/Inf where the reference did not).
    max_rel_err : float
        ``max_abs_err`` of each output divided by the largest reference magnitude of that output
        (the error relative to the output's scale), maximised over outputs and seeds.
    seeds : tuple[int, ...]
        The seeds the inputs were drawn with.
    message : str
        ``"ok"``, or what failed (build error, signature mismatch, which output differs and by
        how much).

    Examples
    --------
    >>> VerifyReport(ok=True, max_abs_err=0.0, max_rel_err=0.0, seeds=(0,), message="ok").ok
    True
    """

    ok: bool
    max_abs_err: float
    max_rel_err: float
    seeds: tuple[int, ...]
    message: str

    def raise_if_failed(self) -> VerifyReport:
        """Return ``self`` if ``ok``, else raise.

        Raises
        ------
        VerificationError
            With the message and the error numbers.
        """
        if not self.ok:
            raise VerificationError(
                f"candidate disagrees with the reference: {self.message} "
                f"(max_abs_err={self.max_abs_err:.3g}, max_rel_err={self.max_rel_err:.3g}, "
                f"seeds={list(self.seeds)})"
            )
        return self

    @classmethod
    def failed(cls, message: str, seeds: tuple[int, ...]) -> VerifyReport:
        """A report for a candidate that could not be compared (did not build, run or match)."""
        inf = float("inf")
        return cls(ok=False, max_abs_err=inf, max_rel_err=inf, seeds=seeds, message=message)
