"""Render a schedule state as compact step-level IR text (the model's view of the program).

Layout (one statement per line, one space of indentation per nesting level)::

    f32 X[1,128,128] Y[1,128,128] -> Z[1,128,128]             default dtype, inputs -> outputs
    root{parallel(32),unroll_explicit(16),vectorize(64)}       root block annotations
    alloc Z_global[1,128,128] acc:f16@l[16]                    intermediates (:dtype, @scope)
    l0:1 parallel l1:2 l2:8                                    a perfect loop nest, outer first
     block Z init=0: i=l1*64+l4*16+l12, k=l6*8+l10             block, reduction init, iterators
      Z_global[l0,i,l2]+=X[l0,i,k]*Y[l0,k,l2]                  the computation
    decisions
    d0 tile(l0,l3,l7,l11)=[1,1,1,1]                            sampled decisions, trace order

- Loops are ``name:extent`` with NameTable's names (``l0, l1, ...`` pre-order), preceded by
  their kind when not serial (``parallel``, ``vectorized``, ``unrolled``, ``threadIdx_x``),
  followed by ``{key(value),...}`` annotations (``auto_unroll_max_step(16)``).
- A block iterator bound to a single loop (or a constant) is replaced by it in the indices; other
  iterators are declared after ``block NAME:`` (the compute's axis name, ``v_``-prefixed when that
  is a reserved word). ``where`` gives the realize predicate.
- Buffers have the header's dtype unless marked (``:i32``); params are global, other buffers show
  a non-global scope (``@s``, ``@l``).
- A reduction writes ``O[..]+=expr`` with ``init=`` on its block line (``init`` gets its own line
  when it stores elsewhere); ``lo<=x&&x<hi`` is written ``lo<=x<hi``; integral floats drop ``.0``.
- Bare identifiers of the syntax are in :data:`~tvm_llm_sched.ir.syntax.RESERVED_WORDS`, so
  :func:`~tvm_llm_sched.ir.syntax.state_hash` ignores naming.
"""

from __future__ import annotations

import re
from typing import Any

from .expr import ExprPrinter, format_float
from .naming import NameTable, iter_stmts
from .syntax import (
    LOOP_KIND_TOKENS,
    OMITTED_ANNOTATIONS,
    OMITTED_FUNC_ATTRS,
    RESERVED_WORDS,
    annotation_token,
    dtype_token,
    scope_token,
    thread_token,
)

_SITE_NAME = re.compile(r"^[ld]\d+$")  # loop and decision names are reserved for sites


def main_func(state: Any) -> Any:
    """The PrimFunc of a Schedule, IRModule or PrimFunc (``main``, or the only PrimFunc).

    Raises
    ------
    TypeError
        If ``state`` is none of those.
    ValueError
        If an IRModule has no ``main`` and not exactly one PrimFunc.
    """
    import tvm

    if isinstance(state, tvm.s_tir.Schedule):
        state = state.mod
    if isinstance(state, tvm.tirx.PrimFunc):
        return state
    if not isinstance(state, tvm.IRModule):
        raise TypeError(
            f"expected a tvm.s_tir.Schedule, IRModule or PrimFunc, not {type(state).__name__}"
        )
    funcs = {
        gv.name_hint: f for gv, f in state.functions.items() if isinstance(f, tvm.tirx.PrimFunc)
    }
    if "main" in funcs:
        return funcs["main"]
    if len(funcs) != 1:
        raise ValueError(f"expected one PrimFunc (or one named 'main'), found {len(funcs)}")
    return next(iter(funcs.values()))


def written_buffers(func: Any) -> set[str]:
    """Names of the buffers some statement of ``func`` stores into."""
    import tvm

    names: set[str] = set()
    for node in iter_stmts(func.body):
        if isinstance(node, tvm.tirx.BufferStore):
            names.add(node.buffer.name)
        elif isinstance(node, tvm.s_tir.SBlock):
            names.update(region.source.name for region in node.writes)
    return names


def _value_text(value: Any) -> str:
    """An annotation or attribute value: ints, floats, strings, lists."""
    import tvm

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)) and not isinstance(value, tvm.ir.Expr):
        return str(value) if isinstance(value, int) else f'"{value}"'
    if isinstance(value, tvm.tirx.IntImm):
        return str(value.value)
    if isinstance(value, tvm.tirx.FloatImm):
        return format_float(value.value, str(value.ty))
    if isinstance(value, tvm.ir.StringImm):
        return f'"{value.value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ in ("Array", "List"):
        return "[" + ",".join(_value_text(v) for v in value) + "]"
    return " ".join(str(value).split())


def _annotations(annotations: Any, omitted: frozenset[str] = OMITTED_ANNOTATIONS) -> str:
    items = sorted(
        (annotation_token(str(key)), _value_text(value))
        for key, value in annotations.items()
        if str(key) not in omitted
    )
    return "{" + ",".join(f"{key}({value})" for key, value in items) + "}" if items else ""


def _free(name: str, taken: set[str]) -> bool:
    return name.isidentifier() and name not in taken and not _SITE_NAME.match(name)


class _Renderer:
    """Walks one PrimFunc and emits the lines of its rendering."""

    def __init__(self, func: Any, names: NameTable):
        self.func = func
        self.names = names
        self.display: dict[Any, str] = {}  # Var -> text (loop names, iterators, substitutions)
        self.expr = ExprPrinter(self.display.get)
        from tvm.tirx.buffer import is_buffer_var

        buffers = self._buffers()
        self.buffer_names = {b.name for b in buffers}
        # Buffers of the most common dtype (the first one on ties) do not repeat it.
        dtypes = [dtype_token(b.dtype) for b in buffers if is_buffer_var(b)] or ["f32"]
        self.default_dtype = max(dtypes, key=lambda d: (dtypes.count(d), -dtypes.index(d)))

    def _buffers(self) -> list[Any]:
        import tvm

        found = list(self.func.params)
        for node in iter_stmts(self.func.body):
            if isinstance(node, tvm.s_tir.SBlock):
                found.extend(node.alloc_buffers)
        return found

    # -- declarations ---------------------------------------------------------------------
    def buffer_decl(self, buf: Any) -> str:
        """``name[shape]``, with ``:dtype`` when not the default and ``@scope`` when not global."""
        from tvm.tirx.buffer import is_buffer_var

        if not is_buffer_var(buf):
            return f"{buf.name}:{dtype_token(buf.ty)}"  # a scalar parameter
        dtype = dtype_token(buf.dtype)
        text = buf.name + ("" if dtype == self.default_dtype else f":{dtype}")
        if buf.scope() != "global":
            text += f"@{scope_token(buf.scope())}"
        return f"{text}[{self.expr.join(buf.shape)}]"

    def header(self) -> list[str]:
        written = written_buffers(self.func)
        params = self.func.params
        inputs = [self.buffer_decl(p) for p in params if p.name not in written]
        outputs = [self.buffer_decl(p) for p in params if p.name in written]
        lines = [f"{self.default_dtype} " + " ".join(inputs) + " -> " + " ".join(outputs)]
        attrs = {} if self.func.attrs is None else dict(self.func.attrs.items())
        attr_text = _annotations(attrs, OMITTED_FUNC_ATTRS)
        if attr_text:
            lines.append("attrs" + attr_text)
        return lines

    # -- statements -----------------------------------------------------------------------
    def stmt(self, node: Any, depth: int) -> list[str]:
        import tvm

        t = tvm.tirx
        pad = " " * depth
        if isinstance(node, t.SeqStmt):
            return [line for child in node.seq for line in self.stmt(child, depth)]
        if isinstance(node, t.For):
            return self.loop_nest(node, depth)
        if isinstance(node, tvm.s_tir.SBlockRealize):
            return self.block(node, depth)
        if isinstance(node, t.BufferStore):
            return [pad + self.store(node)]
        if isinstance(node, t.IfThenElse):
            lines = [f"{pad}if {self.expr(node.condition)}"] + self.stmt(node.then_case, depth + 1)
            if node.else_case is not None:
                lines += [pad + "else"] + self.stmt(node.else_case, depth + 1)
            return lines
        if isinstance(node, t.Evaluate):
            return [pad + self.expr(node.value)]
        if isinstance(node, (t.LetStmt, t.Bind)):
            head = f"{pad}let {self.expr(node.var)}={self.expr(node.value)}"
            body = getattr(node, "body", None)
            return [head] + (self.stmt(body, depth) if body is not None else [])
        if isinstance(node, t.AttrStmt):
            head = f"{pad}attr{{{annotation_token(str(node.attr_key))}({_value_text(node.value)})}}"
            return [head] + self.stmt(node.body, depth + 1)
        if isinstance(node, (t.AllocBuffer, t.DeclBuffer)):
            lines = [f"{pad}alloc {self.buffer_decl(node.buffer)}"]
            body = getattr(node, "body", None)
            return lines + (self.stmt(body, depth) if body is not None else [])
        return [pad + " ".join(str(node).split())]  # an unexpected statement: TVM's own text

    def store(self, node: Any) -> str:
        import tvm

        target = f"{node.buffer.name}[{self.expr.join(node.indices)}]"
        value = node.value
        # An update of the stored element (a reduction step) is written "+=" / "*=".
        for kind, symbol in ((tvm.tirx.Add, "+="), (tvm.tirx.Mul, "*=")):
            if isinstance(value, kind) and self.expr(value.a) == target:
                return f"{target}{symbol}{self.expr(value.b)}"
        return f"{target}={self.expr(value)}"

    def loop_token(self, loop: Any) -> str:
        name = self.names.loop_name(loop)
        self.display[loop.loop_var] = name
        kind = int(loop.kind)
        if kind == 4 and loop.thread_binding is not None:
            prefix = thread_token(str(loop.thread_binding.thread_tag)) + " "
        else:
            prefix = LOOP_KIND_TOKENS[kind] + " " if kind in LOOP_KIND_TOKENS else ""
        extent = self.expr(loop.extent)
        start = self.expr(loop.min)
        if start != "0":  # written as a half-open range
            extent = f"{start}..{self.expr(loop.min + loop.extent)}"
        step = getattr(loop, "step", None)
        if step is not None and self.expr(step) != "1":
            extent += f"/{self.expr(step)}"
        return f"{prefix}{name}:{extent}{_annotations(loop.annotations)}"

    def loop_nest(self, loop: Any, depth: int) -> list[str]:
        import tvm

        tokens = []
        node = loop
        while isinstance(node, tvm.tirx.For):
            tokens.append(self.loop_token(node))
            node = node.body
        return [" " * depth + " ".join(tokens)] + self.stmt(node, depth + 1)

    def iterator_names(self, block: Any, bindings: Any) -> list[str]:
        """Bind each block iterator to display text; return the declarations it needs."""
        import tvm

        declared: list[str] = []
        taken = set(self.buffer_names) | RESERVED_WORDS
        for index, (iv, value) in enumerate(zip(block.iter_vars, bindings, strict=True)):
            if isinstance(value, (tvm.tirx.Var, tvm.tirx.IntImm)):
                self.display[iv.var] = self.expr(value)
                continue
            # The compute's axis name (v_co -> co); TVM's own name when that is taken.
            original = iv.var.name
            candidates = (original[2:] if original.startswith("v_") else original, original)
            name = next((c for c in candidates if _free(c, taken)), f"v{index}")
            while not _free(name, taken):
                name = "_" + name
            taken.add(name)
            self.display[iv.var] = name
            declared.append(f"{name}={self.expr(value)}")
        return declared

    def block(self, realize: Any, depth: int) -> list[str]:
        block = realize.block
        pad = " " * depth
        is_root = block.name_hint == "root" and depth == 0
        declared = self.iterator_names(block, realize.iter_values)
        head = ("root" if is_root else f"block {block.name_hint}") + _annotations(block.annotations)
        init_value = self.init_value(block)
        if init_value is not None:
            head += f" init={init_value}"
        if declared:
            head += ": " + ", ".join(declared)
        if self.expr(realize.predicate) != "true":
            head += f" where {self.expr(realize.predicate)}"
        inner = depth if is_root else depth + 1
        lines = [] if is_root and head == "root" else [pad + head]
        if block.alloc_buffers:
            decls = " ".join(self.buffer_decl(b) for b in block.alloc_buffers)
            lines.append(" " * inner + "alloc " + decls)
        for match in block.match_buffers:
            region = ",".join(
                f"{self.expr(r.min)}:{self.expr(r.min + r.extent)}" for r in match.source.region
            )
            lines.append(
                f"{' ' * inner}match {match.buffer.name}={match.source.source.name}[{region}]"
            )
        if block.init is not None and init_value is None:
            init = self.stmt(block.init, inner + 1)
            if len(init) == 1:
                lines.append(" " * inner + "init " + init[0].lstrip())
            else:
                lines += [" " * inner + "init"] + init
        return lines + self.stmt(block.body, inner)

    def init_value(self, block: Any) -> str | None:
        """The init value when the init stores to the element the body updates (the usual case)."""
        import tvm

        init, body = block.init, block.body
        if not (isinstance(init, tvm.tirx.BufferStore) and isinstance(body, tvm.tirx.BufferStore)):
            return None
        same_element = init.buffer.name == body.buffer.name and self.expr.join(
            init.indices
        ) == self.expr.join(body.indices)
        return self.expr(init.value) if same_element else None


def render(state: Any, *, decisions: bool = True) -> str:
    """Render a program state as step-level IR text.

    Parameters
    ----------
    state : tvm.s_tir.Schedule | tvm.IRModule | tvm.tirx.PrimFunc
        The state. Names come from :class:`~tvm_llm_sched.ir.naming.NameTable`, so loop ``l3``
        here is loop ``l3`` for the step language.
    decisions : bool
        Append the ``decisions`` section (sampled decisions of ``sch.trace``, ``d0, d1, ...``)
        when the state is a Schedule whose trace samples anything.

    Returns
    -------
    str
        Deterministic text: equal states render equally; states that differ only in naming
        have equal :func:`~tvm_llm_sched.ir.syntax.state_hash`.

    Raises
    ------
    TypeError
        If ``state`` is not a Schedule, IRModule or PrimFunc.

    Examples
    --------
    >>> from tvm_llm_sched.workloads import load_workload
    >>> print(render(load_workload("NRM:0").mod).splitlines()[0])
    f32 A[1,256,256] -> D[1]
    """
    import tvm

    func = main_func(state)
    is_schedule = isinstance(state, tvm.s_tir.Schedule)
    names = NameTable(state) if is_schedule else NameTable.for_func(func)
    renderer = _Renderer(func, names)
    lines = renderer.header() + renderer.stmt(func.body, 0)
    if decisions and is_schedule and names.decisions:
        from .decisions import decision_lines

        lines += ["decisions"] + decision_lines(state, names)
    return "\n".join(lines)
