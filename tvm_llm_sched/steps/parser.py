"""Parse steps from their text form (``split(l1, [8, 64])``) or JSON form, with readable errors.

The text form is read by a small tokenizer and a non-recursive parser (never ``eval``): a call
``kind(arg, ...)`` whose arguments are names, integers, floats, quoted strings, ``None``, flat lists
of those, or ``name=value`` keyword arguments. Any malformed input raises
:class:`~tvm_llm_sched.errors.StepSyntaxError` and nothing else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from ..errors import StepSyntaxError
from .kinds import STEP_KINDS, ParamType, StepKind
from .step import Step

MAX_STEP_CHARS = 4000  # a step is one short line; longer input is a model gone astray
_MAX_INT_DIGITS = 18  # keeps int() clear of Python's digit limit and of int64 overflow in TVM

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<float>-?\d+\.\d*(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+)
    | (?P<int>-?\d+)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<dstr>"(?:[^"\\\n]|\\.)*")
    | (?P<sstr>'(?:[^'\\\n]|\\.)*')
    | (?P<punct>[()\[\],=])
    )""",
    re.VERBOSE,
)


class _Name(str):
    """A bare identifier in the text form (as opposed to a quoted string)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            char = text[pos:].lstrip()[:1]
            raise StepSyntaxError(f"unexpected character {char!r} at column {pos}")
        pos = match.end()
        kind = match.lastgroup
        raw = match.group(kind)
        if kind in ("int", "float") and len(raw.lstrip("-").split(".")[0]) > _MAX_INT_DIGITS:
            raise StepSyntaxError(f"number {raw[:24]}... is too large")
        if kind == "int":
            out.append(("value", int(raw)))
        elif kind == "float":
            out.append(("value", float(raw)))
        elif kind == "name":
            out.append(("value", None if raw == "None" else _Name(raw)))
        elif kind == "dstr":
            try:
                out.append(("value", json.loads(raw)))
            except ValueError:
                raise StepSyntaxError(f"bad string literal {raw[:40]}") from None
        elif kind == "sstr":
            out.append(("value", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        else:
            out.append((raw, raw))
    return out


def _parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """Split ``kind(a, [b, c], key=d)`` into kind, positional and keyword values."""
    toks = _tokens(text)
    if len(toks) < 3 or not isinstance(toks[0][1], _Name) or toks[1][0] != "(":
        raise StepSyntaxError(f"expected kind(arg, ...), got {text.strip()[:80]!r}")
    if toks[-1][0] != ")":
        raise StepSyntaxError("missing closing ')' at the end of the step")
    kind, body = str(toks[0][1]), toks[2:-1]
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    i = 0
    while i < len(body):
        key = None
        if i + 1 < len(body) and body[i + 1][0] == "=":
            if not isinstance(body[i][1], _Name):
                raise StepSyntaxError("a keyword argument needs a name before '='")
            key, i = str(body[i][1]), i + 2
        if i >= len(body):
            raise StepSyntaxError("missing value at the end of the arguments")
        tag, value = body[i]
        if tag == "[":  # flat list: values separated by commas up to ']'
            items, i = [], i + 1
            while i < len(body) and body[i][0] != "]":
                if body[i][0] != "value":
                    raise StepSyntaxError(f"unexpected {body[i][0]!r} in a list (lists are flat)")
                items.append(body[i][1])
                i += 1
                if i < len(body) and body[i][0] == ",":
                    i += 1
                elif i < len(body) and body[i][0] != "]":
                    raise StepSyntaxError("list items must be separated by ','")
            if i >= len(body):
                raise StepSyntaxError("unclosed '['")
            value = items
        elif tag != "value":
            raise StepSyntaxError(f"unexpected {tag!r} in the arguments of {kind}")
        i += 1
        if key is None:
            if keywords:
                raise StepSyntaxError("positional argument after a keyword argument")
            positional.append(value)
        elif key in keywords:
            raise StepSyntaxError(f"argument {key!r} given twice")
        else:
            keywords[key] = value
        if i < len(body):
            if body[i][0] != ",":
                raise StepSyntaxError(f"expected ',' between the arguments of {kind}")
            i += 1
    return kind, positional, keywords


def _lookup(kind: Any) -> StepKind:
    if not isinstance(kind, str) or kind not in STEP_KINDS:
        raise StepSyntaxError(
            f"unknown step kind {str(kind)[:40]!r}; kinds are {', '.join(STEP_KINDS)}"
        )
    return STEP_KINDS[kind]


def _usage(spec: StepKind) -> str:
    return f"usage: {spec.signature}, e.g. {spec.example}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(value: Any, what: str) -> int:
    if not _is_int(value):
        raise StepSyntaxError(f"{what} must be an integer, got {value!r:.40}")
    if abs(value) >= 2**63:
        raise StepSyntaxError(f"{what} is out of range")
    return int(value)


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise StepSyntaxError(f"{what} must be a site name, got {value!r:.40}")
    return str(value)


def _coerce(spec: StepKind, ptype: ParamType, name: str, value: Any) -> Any:
    """Check one argument's type and return it in canonical form."""
    what = f"{spec.name}: argument {name!r}"
    if ptype in (ParamType.LOOP, ParamType.BLOCK, ParamType.SITE, ParamType.DECISION):
        return _check_name(value, what)
    if ptype is ParamType.LOOPS:
        if not isinstance(value, (list, tuple)) or len(value) < 2:
            raise StepSyntaxError(f"{what} must be two or more loop names; {_usage(spec)}")
        return tuple(_check_name(v, what) for v in value)
    if ptype is ParamType.INT:
        return _check_int(value, what)
    if ptype is ParamType.FACTORS:
        if not isinstance(value, (list, tuple)) or not value:
            raise StepSyntaxError(f"{what} must be a list of integers; {_usage(spec)}")
        # -1 means "infer", as in TVM; the canonical form is None
        return tuple(
            None if v is None or (_is_int(v) and v == -1) else _check_int(v, what) for v in value
        )
    if ptype is ParamType.STR:
        if not isinstance(value, str):
            raise StepSyntaxError(f"{what} must be a string, got {value!r:.40}")
        return str(value)
    if ptype is ParamType.VALUE:
        if isinstance(value, float) and math.isfinite(value):
            return value
        if _is_int(value):
            return _check_int(value, what)
        if isinstance(value, str):
            return str(value)
        raise StepSyntaxError(f"{what} must be an integer, a finite number or a string")
    if ptype is ParamType.LOCATION:
        if _is_int(value):
            return _check_int(value, what)
        if isinstance(value, str) and value in ("root", "inline"):
            return str(value)
        raise StepSyntaxError(f"{what} must be a candidate index, root or inline")
    raise AssertionError(ptype)  # every ParamType is handled above


def _build(spec: StepKind, positional: list[Any], keywords: dict[str, Any]) -> Step:
    params = spec.params
    if params and params[-1].type is ParamType.LOOPS and not keywords:
        # variadic loops: reorder(l2, l1) and reorder([l2, l1]) mean the same
        fixed = len(params) - 1
        rest = positional[fixed:]
        if len(rest) == 1 and isinstance(rest[0], list):
            rest = rest[0]
        positional = positional[:fixed] + ([rest] if rest else [])
    if len(positional) > len(params):
        raise StepSyntaxError(
            f"{spec.name} takes {len(params)} argument(s), got {len(positional)}; {_usage(spec)}"
        )
    values = dict(zip((p.name for p in params), positional, strict=False))
    for key, value in keywords.items():
        if key not in {p.name for p in params}:
            raise StepSyntaxError(f"{spec.name} has no argument {key!r}; {_usage(spec)}")
        if key in values:
            raise StepSyntaxError(f"{spec.name}: argument {key!r} given twice")
        values[key] = value
    missing = [p.name for p in params if p.name not in values]
    if missing:
        raise StepSyntaxError(f"{spec.name} is missing {', '.join(missing)}; {_usage(spec)}")
    args = tuple((p.name, _coerce(spec, p.type, p.name, values[p.name])) for p in params)
    return Step(spec.name, args)


def _from_json(obj: Any) -> Step:
    if not isinstance(obj, dict) or set(obj) - {"kind", "args"} or "kind" not in obj:
        raise StepSyntaxError('a JSON step is {"kind": "...", "args": {...}}')
    spec = _lookup(obj["kind"])
    args = obj.get("args", {})
    if not isinstance(args, dict):
        raise StepSyntaxError('"args" of a JSON step must be an object')
    if any(not isinstance(k, str) for k in args):
        raise StepSyntaxError('"args" keys must be strings')
    return _build(spec, [], dict(args))


def parse_step(source: str | dict[str, Any] | Step) -> Step:
    """Parse one step from its text form, its JSON form (a dict or a JSON string), or pass a Step.

    Parameters
    ----------
    source : str | dict | Step
        ``'split(l1, [8, 64])'``, ``'{"kind": "split", "args": {...}}'`` or the decoded dict.

    Returns
    -------
    Step
        The checked step, arguments in canonical form (``-1`` factors become ``None``).

    Raises
    ------
    StepSyntaxError
        Unparsable text or JSON, unknown kind, wrong arity, or wrong argument types.
    """
    if isinstance(source, Step):
        return source
    if isinstance(source, dict):
        return _from_json(source)
    if not isinstance(source, str):
        raise StepSyntaxError(f"a step is text or JSON, got {type(source).__name__}")
    text = source.strip()
    if len(text) > MAX_STEP_CHARS:
        raise StepSyntaxError(f"step is too long ({len(text)} characters)")
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            # ValueError covers malformed JSON and over-long integer literals
            raise StepSyntaxError(f"bad JSON step: {str(exc)[:120]}") from None
        return _from_json(obj)
    kind, positional, keywords = _parse_call(text)
    return _build(_lookup(kind), positional, keywords)


def parse_steps(source: str | Iterable[str | dict[str, Any] | Step]) -> list[Step]:
    """Parse several steps: text with one step per line (blank lines and ``#`` comments skipped),
    a JSON array, or an iterable of step sources.

    Raises
    ------
    StepSyntaxError
        For the first bad step; the message says which line.
    """
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise StepSyntaxError(f"bad JSON step list: {str(exc)[:120]}") from None
        else:
            items = [ln for ln in (raw.strip() for raw in text.splitlines()) if ln and ln[0] != "#"]
    else:
        items = list(source)
    steps = []
    for number, item in enumerate(items, 1):
        try:
            steps.append(parse_step(item))
        except StepSyntaxError as exc:
            raise StepSyntaxError(f"step {number}: {exc}") from None
    return steps
