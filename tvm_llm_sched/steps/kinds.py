"""The table of step kinds: each kind's signature, one-line description, example and applier.

This is the one place a step kind is declared. The parser reads signatures from it, the state
applies steps through its appliers, and :func:`describe_language` turns it into the part of a
system prompt that teaches the language.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from . import appliers


class ParamType(enum.Enum):
    """What one step argument holds."""

    LOOP = "loop"  # a loop name: l0, l1, ...
    LOOPS = "loops"  # two or more loop names (variadic in the text form)
    BLOCK = "block"  # a block name (the TIR sblock name)
    SITE = "site"  # a loop or a block name
    DECISION = "decision"  # a sampled decision: d0, d1, ...
    INT = "int"
    FACTORS = "factors"  # a list of positive ints, at most one None (inferred)
    STR = "str"
    VALUE = "value"  # an int, a finite float or a string
    LOCATION = "location"  # a compute-location decision: an int, ``root`` or ``inline``

    @property
    def is_site(self) -> bool:
        """Whether arguments of this type name a site of the state."""
        return self in (
            ParamType.LOOP,
            ParamType.LOOPS,
            ParamType.BLOCK,
            ParamType.SITE,
            ParamType.DECISION,
        )


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a step kind."""

    name: str
    type: ParamType


@dataclasses.dataclass(frozen=True)
class StepKind:
    """A step kind: signature, description, example, and the function that applies it.

    Attributes
    ----------
    name : str
        The kind as written in the text form.
    params : tuple of Param
        The signature; only the last parameter may be variadic (``LOOPS``).
    doc : str
        One line for the model.
    example : str
        A valid text-form example.
    applier : callable
        For schedule primitives ``applier(sch, names, step) -> None`` mutates ``sch``; for decision
        edits (``edits_decision``) ``applier(sch, names, step) -> decision`` returns the checked
        new decision value of the step's decision.
    edits_decision : bool
        Whether the kind rewrites a sampled decision of the base trace instead of adding a
        primitive after it.
    """

    name: str
    params: tuple[Param, ...]
    doc: str
    example: str
    applier: Callable[..., Any]
    edits_decision: bool = False

    @property
    def signature(self) -> str:
        """``split(loop, factors)``-style signature."""
        names = [f"{p.name}..." if p.type is ParamType.LOOPS else p.name for p in self.params]
        return f"{self.name}({', '.join(names)})"


def _kind(name: str, params: str, doc: str, example: str, applier, **kw) -> StepKind:
    # params is "name:type name:type ..." so that the table below stays one readable line per kind
    parsed = tuple(Param(n, ParamType(t)) for n, t in (item.split(":") for item in params.split()))
    return StepKind(name, parsed, doc, example, applier, **kw)


STEP_KINDS: dict[str, StepKind] = {
    k.name: k
    for k in (
        _kind(
            "split",
            "loop:loop factors:factors",
            "split a loop into nested loops; factors multiply to its extent (one may be None:"
            " inferred, rounded up with the last iteration guarded when the others do not divide"
            " the extent)",
            "split(l1, [8, 64])",
            appliers.split,
        ),
        _kind(
            "reorder",
            "loops:loops",
            "reorder loops of one nest into the given order (outermost first)",
            "reorder(l2, l1)",
            appliers.reorder,
        ),
        _kind(
            "fuse",
            "loops:loops",
            "fuse directly nested loops (outer first) into one loop",
            "fuse(l0, l1)",
            appliers.fuse,
        ),
        _kind(
            "parallel",
            "loop:loop",
            "run a spatial loop's iterations on parallel threads",
            "parallel(l0)",
            appliers.parallel,
        ),
        _kind(
            "vectorize",
            "loop:loop",
            "turn an innermost spatial loop into SIMD instructions",
            "vectorize(l5)",
            appliers.vectorize,
        ),
        _kind(
            "unroll",
            "loop:loop",
            "fully unroll a loop (best for small constant extents)",
            "unroll(l4)",
            appliers.unroll,
        ),
        _kind(
            "annotate",
            "site:site key:str value:value",
            "attach an annotation (e.g. pragma_auto_unroll_max_step) to a loop or block",
            'annotate(l0, "pragma_auto_unroll_max_step", 64)',
            appliers.annotate,
        ),
        _kind(
            "cache_read",
            "block:block buffer_index:int scope:str",
            "stage the block's n-th read buffer in a cache block of the given scope",
            'cache_read(Z, 0, "global")',
            appliers.cache_read,
        ),
        _kind(
            "cache_write",
            "block:block buffer_index:int scope:str",
            "compute the block into a cache buffer, then copy out (new block <name>_<scope>)",
            'cache_write(Z, 0, "global")',
            appliers.cache_write,
        ),
        _kind(
            "compute_at",
            "block:block loop:loop",
            "move a producer block under a loop of its consumer",
            "compute_at(PadInput, l3)",
            appliers.compute_at,
        ),
        _kind(
            "reverse_compute_at",
            "block:block loop:loop",
            "move a consumer block under a loop of its producer",
            "reverse_compute_at(Z_global, l3)",
            appliers.reverse_compute_at,
        ),
        _kind(
            "compute_inline",
            "block:block",
            "inline an elementwise producer block into its consumers",
            "compute_inline(PadInput)",
            appliers.compute_inline,
        ),
        _kind(
            "reverse_compute_inline",
            "block:block",
            "inline an elementwise consumer block into its producer",
            "reverse_compute_inline(T_relu)",
            appliers.reverse_compute_inline,
        ),
        _kind(
            "rfactor",
            "loop:loop factor_axis:int",
            "factorize a reduction over a reduction loop into a partial-result block",
            "rfactor(l3, 0)",
            appliers.rfactor,
        ),
        _kind(
            "decompose_reduction",
            "block:block loop:loop",
            "separate a reduction block's init statement, placed above the given loop",
            "decompose_reduction(Z, l2)",
            appliers.decompose_reduction,
        ),
        _kind(
            "set_tile",
            "decision:decision factors:factors",
            "re-decide a sampled perfect tiling: n factors, product = loop extent",
            "set_tile(d0, [4, 8, 2, 8])",
            appliers.set_tile,
            edits_decision=True,
        ),
        _kind(
            "set_choice",
            "decision:decision index:int",
            "re-decide a sampled categorical choice by candidate index",
            "set_choice(d4, 2)",
            appliers.set_choice,
            edits_decision=True,
        ),
        _kind(
            "set_compute_location",
            "decision:decision location:location",
            "re-decide a sampled compute location: loop index, root or inline",
            "set_compute_location(d5, 1)",
            appliers.set_compute_location,
            edits_decision=True,
        ),
    )
}


def describe_language() -> str:
    """The step language as text for a system prompt: naming rules, then one line per kind."""
    lines = [
        "Sites: blocks by name, loops l0, l1, ... (pre-order, renumbered after every step),"
        " sampled decisions d0, d1, ... (trace order).",
        "Write exactly one step per line as kind(arg, ...); strings in double quotes.",
        "",
    ]
    width = max(len(k.signature) for k in STEP_KINDS.values())
    for kind in STEP_KINDS.values():
        lines.append(f"{kind.signature:<{width}}  {kind.doc}; e.g. {kind.example}")
    return "\n".join(lines)
