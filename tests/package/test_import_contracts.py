"""The package's seams, checked on its source: who may import whom, and one latency rule.

- a proposer sees a Situation and nothing else: ``tvm_llm_sched.proposers`` imports neither the
  step IR renderer (``ir``), the hardware detection (``hardware``) nor the test kit (``testing``);
- the library does not import its benchmark lab: only ``bench/`` and ``cli/`` import ``bench``;
- production code does not import the test kit: only ``testing/`` imports ``testing``;
- exactly one function turns MetaSchedule's ``run_secs`` into a latency.

Imports are read from the AST in every spelling: ``import a.b``, ``from a import b``, relative
(``from .. import ir``, ``from ..ir.naming import x``), inside functions, and module names given
to ``importlib.import_module`` / ``__import__`` or listed as string literals (lazy exports).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "tvm_llm_sched"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
_MODULE_LITERAL = re.compile(rf"{PACKAGE}(\.\w+)+")


def module_name(path: Path) -> str:
    """``tvm_llm_sched/search/engine.py`` -> ``tvm_llm_sched.search.engine``."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Absolute names of every module ``source`` (the text of ``module``) may import."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            # ``from .. import ir`` imports the submodule ``ir``
            found.update(f"{origin}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _MODULE_LITERAL.fullmatch(node.value):
                found.add(node.value)
    return found


def _within(name: str, target: str) -> bool:
    return name == target or name.startswith(target + ".")


def package_modules() -> list[tuple[str, set[str]]]:
    """(module name, imported module names) for every module of the package."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        out.append(
            (name, imported_modules(path.read_text(), name, is_package=path.stem == "__init__"))
        )
    return out


def violations() -> list[str]:
    """Every broken rule, one line each."""
    found = []
    for name, imports in package_modules():
        for imported in sorted(imports):
            if _within(name, f"{PACKAGE}.proposers"):
                for banned in ("ir", "hardware", "testing"):
                    if _within(imported, f"{PACKAGE}.{banned}"):
                        found.append(f"{name} (a proposer module) imports {imported}")
            if _within(imported, f"{PACKAGE}.bench") and not any(
                _within(name, f"{PACKAGE}.{lab}") for lab in ("bench", "cli")
            ):
                found.append(f"{name} imports the benchmark code ({imported})")
            if _within(imported, f"{PACKAGE}.testing") and not _within(name, f"{PACKAGE}.testing"):
                found.append(f"{name} (production code) imports the test kit ({imported})")
    return found


def test_the_package_keeps_its_seams():
    assert violations() == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import tvm_llm_sched.ir.naming", "tvm_llm_sched.proposers.x", "tvm_llm_sched.ir.naming"),
        ("from tvm_llm_sched import ir", "tvm_llm_sched.proposers.x", "tvm_llm_sched.ir"),
        ("from ..ir import render", "tvm_llm_sched.proposers.x", "tvm_llm_sched.ir"),
        ("from .. import hardware", "tvm_llm_sched.proposers.x", "tvm_llm_sched.hardware"),
        ("from ...testing import y", "tvm_llm_sched.proposers.sub.x", "tvm_llm_sched.testing"),
        (
            "def f():\n    from ..ir import render\n",
            "tvm_llm_sched.proposers.x",
            "tvm_llm_sched.ir",
        ),
        (
            "import importlib\nimportlib.import_module('tvm_llm_sched.bench.harness')",
            "tvm_llm_sched.search.x",
            "tvm_llm_sched.bench.harness",
        ),
        ("__import__('tvm_llm_sched.testing')", "tvm_llm_sched.tune.x", "tvm_llm_sched.testing"),
    ],
)
def test_every_import_spelling_is_seen(source, module, expected):
    assert expected in imported_modules(source, module)


def test_relative_imports_of_a_package_init_resolve_from_the_package():
    assert "tvm_llm_sched.proposers.base" in imported_modules(
        "from .base import Proposer", "tvm_llm_sched.proposers", is_package=True
    )


def _mentions_run_secs(node: ast.AST, derived: set[str]) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "run_secs")
        or (isinstance(n, ast.Name) and n.id in derived)
        for n in ast.walk(node)
    )


def latency_functions(source: str, module: str) -> list[str]:
    """Functions of ``source`` that compute with ``run_secs``: arithmetic or ``sum``/``mean``
    over it, or over a variable assigned from it (``secs = [... r.run_secs]; sum(secs) / ...``)."""
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        derived: set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and _mentions_run_secs(node.value, derived):
                derived.update(t.id for t in node.targets if isinstance(t, ast.Name))
        computes = any(
            (
                isinstance(n, ast.BinOp)
                or (isinstance(n, ast.Call) and getattr(n.func, "id", None) in ("sum", "mean"))
            )
            and _mentions_run_secs(n, derived)
            for n in ast.walk(func)
        )
        if computes:
            found.append(f"{module}.{func.name}")
    return found


@pytest.mark.parametrize(
    "body",
    [
        "secs = [float(s) for s in r.run_secs]\n    return sum(secs) / len(secs)",
        "return 1e6 * r.run_secs[0]",
        "return sum(r.run_secs)",
    ],
)
def test_the_latency_detector_sees_the_usual_spellings(body):
    assert latency_functions(f"def f(r):\n    {body}\n", "m") == ["m.f"]


def test_copying_run_secs_is_not_a_latency():
    source = "def f(r):\n    return tuple(float(s) for s in r.run_secs), 1 + 2\n"
    assert latency_functions(source, "m") == []


def test_exactly_one_function_turns_run_secs_into_a_latency():
    found = [
        name
        for path in sorted(ROOT.rglob("*.py"))
        for name in latency_functions(path.read_text(), module_name(path))
    ]
    assert found == ["tvm_llm_sched.measure.latency.latency_us"]
