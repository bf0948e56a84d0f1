"""Print TIR expressions compactly: infix arithmetic, ``Buf[i,j]`` loads, ``exp(x)`` calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .syntax import dtype_token

# Precedence: higher binds tighter. Atoms (loads, calls, names, literals) are 9.
_ATOM = 9


def _binary_ops() -> dict[type, tuple[str, int]]:
    import tvm

    t = tvm.tirx
    return {
        t.Or: ("||", 1),
        t.And: ("&&", 2),
        t.BitwiseOr: ("|", 3),
        t.BitwiseXor: ("^", 3),
        t.BitwiseAnd: ("&", 3),
        t.EQ: ("==", 4),
        t.NE: ("!=", 4),
        t.LT: ("<", 4),
        t.LE: ("<=", 4),
        t.GT: (">", 4),
        t.GE: (">=", 4),
        t.LShift: ("<<", 5),
        t.RShift: (">>", 5),
        t.Add: ("+", 6),
        t.Sub: ("-", 6),
        t.Mul: ("*", 7),
        t.Div: ("/", 7),
        t.FloorDiv: ("//", 7),
        t.FloorMod: ("%", 7),
    }


def format_float(value: float, dtype: str) -> str:
    """Shortest text that round-trips ``value`` in ``dtype`` (``0``, ``-3.4028235e+38``)."""
    import numpy as np

    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))  # the buffer dtype already says it is a float
    kind = {"float16": np.float16, "float32": np.float32}.get(dtype, np.float64)
    return str(kind(value))


class ExprPrinter:
    """Turns PrimExprs into text, naming variables through ``var_name``.

    Parameters
    ----------
    var_name : callable
        Maps a ``tvm.tirx.Var`` to its display text (loop name, iterator name or substituted
        binding); returns ``None`` to fall back to the variable's own name.
    """

    def __init__(self, var_name: Callable[[Any], str | None]):
        self._var_name = var_name
        self._binary = _binary_ops()

    def __call__(self, expr: Any) -> str:
        return self._print(expr)[0]

    def _print(self, expr: Any) -> tuple[str, int]:
        import tvm

        t = tvm.tirx
        kind = type(expr)
        # The frequent nodes first, by exact type (isinstance chains dominate render time).
        if kind is tvm.ir.Var:  # a buffer passed by handle prints as its name too
            return self._var_name(expr) or expr.name, _ATOM
        if kind is tvm.ir.TensorLoad:
            return f"{expr.source.name}[{self.join(expr.indices)}]", _ATOM
        if kind is t.IntImm:
            value = expr.value
            if value in (0, 1) and str(expr.ty) == "bool":
                return ("true" if value else "false"), _ATOM
            return str(value), (_ATOM if value >= 0 else 8)
        op = self._binary.get(kind)
        if op is not None:
            conjunction = self._conjunction(expr) if kind is t.And else None
            return conjunction or (self._binary_text(expr, *op), op[1])
        if isinstance(expr, t.FloatImm):
            text = format_float(expr.value, str(expr.ty))
            return text, (8 if text.startswith("-") else _ATOM)
        if isinstance(expr, tvm.ir.StringImm):
            return f'"{expr.value}"', _ATOM
        if isinstance(expr, t.Not):
            return "!" + self._wrap(expr.a, 8), 8
        if isinstance(expr, t.BitwiseNot):
            return "~" + self._wrap(expr.a, 8), 8
        if isinstance(expr, (t.Min, t.Max)):
            name = "min" if isinstance(expr, t.Min) else "max"
            return f"{name}({self(expr.a)},{self(expr.b)})", _ATOM
        if isinstance(expr, t.Mod):  # truncated modulo; "%" is floor modulo
            return f"truncmod({self(expr.a)},{self(expr.b)})", _ATOM
        if isinstance(expr, t.Select):
            return (
                f"select({self.join([expr.condition, expr.true_value, expr.false_value])})",
                _ATOM,
            )
        if isinstance(expr, t.Cast):
            return f"{dtype_token(expr.ty)}({self(expr.value)})", _ATOM
        if isinstance(expr, tvm.ir.Call):
            name = str(getattr(expr.op, "name", expr.op)).rsplit(".", 1)[-1]
            return f"{name}({self.join(expr.args)})", _ATOM
        if isinstance(expr, t.Ramp):
            return f"ramp({self.join([expr.base, expr.stride, expr.lanes])})", _ATOM
        if isinstance(expr, t.Broadcast):
            return f"bcast({self.join([expr.value, expr.lanes])})", _ATOM
        if isinstance(expr, t.Let):
            return f"let({self(expr.var)}={self(expr.value)},{self(expr.body)})", _ATOM
        if isinstance(expr, t.Var):  # a Var subclass
            return self._var_name(expr) or expr.name, _ATOM
        if isinstance(expr, (int, float)):
            return str(expr), _ATOM
        return " ".join(str(expr).split()), _ATOM  # unknown node: TVM's own text, one line

    def _conjunction(self, expr: Any) -> tuple[str, int]:
        """``a && b && ...`` with ``lo<=x && x<hi`` pairs written ``lo<=x<hi`` (bounds checks)."""
        import tvm

        t = tvm.tirx
        terms: list[Any] = []
        stack = [expr]
        while stack:  # flatten nested "and"s, left to right
            node = stack.pop()
            if isinstance(node, t.And):
                stack += [node.b, node.a]
            else:
                terms.append(node)
        parts: list[str] = []
        index = 0
        while index < len(terms):
            pair = terms[index : index + 2]
            if len(pair) == 2 and all(isinstance(e, (t.LE, t.LT)) for e in pair):
                middle = self._wrap(pair[0].b, 5)
                if middle == self._wrap(pair[1].a, 5):
                    low, high = self._wrap(pair[0].a, 5), self._wrap(pair[1].b, 5)
                    ops = [self._binary[type(e)][0] for e in pair]
                    parts.append(f"{low}{ops[0]}{middle}{ops[1]}{high}")
                    index += 2
                    continue
            parts.append(self._wrap(terms[index], 3))
            index += 1
        return "&&".join(parts), (2 if len(parts) > 1 else 4)

    def join(self, exprs: Any) -> str:
        """Comma-separated list of printed expressions."""
        return ",".join(self(e) for e in exprs)

    def _wrap(self, expr: Any, min_prec: int) -> str:
        text, prec = self._print(expr)
        return f"({text})" if prec < min_prec else text

    def _binary_text(self, expr: Any, symbol: str, prec: int) -> str:
        left = self._wrap(expr.a, prec)
        # Operators print left-associative, so a right operand of equal precedence keeps its
        # parentheses: a-(b-c) and float a+(b+c) must not read as (a-b)-c / (a+b)+c.
        right = self._wrap(expr.b, prec + 1)
        return f"{left}{symbol}{right}"
