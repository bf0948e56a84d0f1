"""The :class:`Step` value: one atomic transformation, with its text and JSON forms.

A step is a kind (``split``, ``set_tile``, ...) plus its arguments in the kind's signature order.
Its text form is what a model writes, one line, e.g. ``split(l1, [8, 64])``; its JSON form is
``{"kind": "split", "args": {"loop": "l1", "factors": [8, 64]}}``. Both round-trip exactly through
:func:`~tvm_llm_sched.steps.parser.parse_step`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from .kinds import STEP_KINDS, ParamType

_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_name(name: str) -> str:
    """A site name as the text form writes it: bare if it is an identifier, else quoted."""
    return name if _BARE_NAME.match(name) and name != "None" else json.dumps(name)


def _format_scalar(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)  # int, or a finite float (repr round-trips exactly)


def _format_value(ptype: ParamType, value: Any) -> str:
    if ptype in (ParamType.LOOP, ParamType.BLOCK, ParamType.SITE, ParamType.DECISION):
        return format_name(value)
    if ptype is ParamType.LOOPS:
        return ", ".join(format_name(v) for v in value)
    if ptype is ParamType.FACTORS:
        return "[" + ", ".join(_format_scalar(v) for v in value) + "]"
    if ptype is ParamType.LOCATION and isinstance(value, str):
        return format_name(value)
    return _format_scalar(value)


@dataclasses.dataclass(frozen=True)
class Step:
    """One atomic schedule transformation.

    Build steps with :func:`~tvm_llm_sched.steps.parser.parse_step` or :meth:`Step.of`, which
    check and normalise the arguments; the constructor itself trusts its input.

    Attributes
    ----------
    kind : str
        A key of :data:`~tvm_llm_sched.steps.kinds.STEP_KINDS`.
    args : tuple of (str, value)
        Arguments in signature order; lists are stored as tuples so steps are hashable.

    Examples
    --------
    >>> step = Step.of("split", loop="l1", factors=[8, 64])
    >>> step.to_text()
    'split(l1, [8, 64])'
    >>> step.to_json()
    {'kind': 'split', 'args': {'loop': 'l1', 'factors': [8, 64]}}
    """

    kind: str
    args: tuple[tuple[str, Any], ...]

    @staticmethod
    def of(kind: str, **args: Any) -> Step:
        """A checked, normalised step from keyword arguments; raises :class:`StepSyntaxError`."""
        from .parser import parse_step

        return parse_step({"kind": kind, "args": args})

    def __getitem__(self, name: str) -> Any:
        """The argument called ``name``."""
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def sites(self) -> tuple[str, ...]:
        """Names of the loops, blocks and decisions this step addresses, in argument order."""
        spec = STEP_KINDS[self.kind]
        out: list[str] = []
        for param, (_, value) in zip(spec.params, self.args, strict=True):
            if param.type is ParamType.LOOPS:
                out.extend(value)
            elif param.type.is_site:
                out.append(value)
        return tuple(out)

    @property
    def is_decision_edit(self) -> bool:
        """Whether this step edits a sampled decision of the base trace."""
        return STEP_KINDS[self.kind].edits_decision

    def to_text(self) -> str:
        """The one-line text form, e.g. ``split(l1, [8, 64])``."""
        spec = STEP_KINDS[self.kind]
        parts = [_format_value(p.type, v) for p, (_, v) in zip(spec.params, self.args, strict=True)]
        return f"{self.kind}({', '.join(parts)})"

    def to_json(self) -> dict[str, Any]:
        """The JSON form ``{"kind": ..., "args": {...}}`` (plain dicts, lists and scalars)."""
        return {
            "kind": self.kind,
            "args": {k: list(v) if isinstance(v, tuple) else v for k, v in self.args},
        }

    def __str__(self) -> str:
        return self.to_text()
