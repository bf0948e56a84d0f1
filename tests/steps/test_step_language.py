"""The step language: text <-> JSON <-> Step round trips, syntax errors, and a parser fuzz test."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tvm_llm_sched.errors import StepSyntaxError
from tvm_llm_sched.steps import (
    STEP_KINDS,
    ParamType,
    Step,
    describe_language,
    parse_step,
    parse_steps,
)

EXAMPLES = [kind.example for kind in STEP_KINDS.values()]


@pytest.mark.parametrize("text", EXAMPLES, ids=list(STEP_KINDS))
def test_every_kind_round_trips_text_json_step(text):
    step = parse_step(text)
    assert step.to_text() == text
    as_json = step.to_json()
    assert parse_step(as_json) == step
    assert parse_step(json.dumps(as_json)) == step
    assert json.loads(json.dumps(as_json)) == as_json  # plain JSON values only
    assert parse_step(step) is step


def test_json_form_and_sites():
    step = parse_step("split(l1, [8, 64])")
    assert step.to_json() == {"kind": "split", "args": {"loop": "l1", "factors": [8, 64]}}
    assert step.sites == ("l1",)
    assert parse_step("reorder(l2, l1, l0)").sites == ("l2", "l1", "l0")
    assert parse_step('cache_write(Z, 0, "global")').to_json() == {
        "kind": "cache_write",
        "args": {"block": "Z", "buffer_index": 0, "scope": "global"},
    }
    assert parse_step("set_tile(d0, [4, 8, 2, 8])").is_decision_edit
    assert not parse_step("parallel(l0)").is_decision_edit


def test_equivalent_spellings_normalise_to_one_step():
    canonical = parse_step("split(l1, [None, 16])")
    for text in (
        "split(l1, [-1, 16])",
        "split(loop=l1, factors=[None, 16])",
        "  split( l1 ,[None,16] ) ",
        "split(l1, factors=[-1, 16])",
        "split('l1', [None, 16])",
    ):
        assert parse_step(text) == canonical, text
    assert canonical.to_text() == "split(l1, [None, 16])"
    assert parse_step("reorder([l2, l1])") == parse_step("reorder(l2, l1)")
    assert parse_step("cache_read(Z, 0, global)") == parse_step("cache_read(Z, 0, 'global')")
    assert Step.of("fuse", loops=["l0", "l1"]) == parse_step("fuse(l0, l1)")


def test_odd_block_names_and_values_are_quoted_and_round_trip():
    step = Step.of("compute_inline", block="my.block")
    assert step.to_text() == 'compute_inline("my.block")'
    assert parse_step(step.to_text()) == step
    step = Step.of("annotate", site="l0", key='we"ird', value=0.25)
    assert parse_step(step.to_text()) == step
    assert parse_step(step.to_json()) == step


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("split(l1, [8, 64]", "closing"),
        ("split l1", "expected kind(arg, ...)"),
        ("tile(l1, [8, 8])", "unknown step kind 'tile'; kinds are split, reorder"),
        ("split(l1)", "split is missing factors; usage: split(loop, factors)"),
        ("parallel(l0, l1)", "parallel takes 1 argument(s), got 2"),
        ("split(l1, 8)", "must be a list of integers"),
        ("split(l1, [8, 2.5])", "must be an integer"),
        ('set_choice(d0, "two")', "must be an integer"),
        ("reorder(l1)", "two or more loop names"),
        ("annotate(l0, 5, 5)", "must be a string"),
        ("set_compute_location(d0, somewhere)", "candidate index, root or inline"),
        ("split(l1, [[8], 8])", "lists are flat"),
        ("split(l1, [8, 8], factors=[8, 8])", "given twice"),
        ("split(loop=l1, [8, 8])", "positional argument after a keyword"),
        ("split(l1, [8, 8], extra=1)", "has no argument 'extra'"),
        ("split(l1, [1" + "0" * 40 + "])", "too large"),
        ("parallel(l0) ; rm -rf", "unexpected character"),
        ('{"kind": "split"', "bad JSON step"),
        ('{"kind": "split", "args": []}', '"args" of a JSON step must be an object'),
        ('{"kind": "split", "args": {}, "why": 1}', 'a JSON step is {"kind"'),
        ('{"kind": "parallel", "args": {"loop": true}}', "must be a site name"),
        ('{"kind": "set_choice", "args": {"decision": "d0", "index": true}}', "must be an integer"),
        ("x" * 5000, "too long"),
    ],
)
def test_syntax_errors_are_precise(text, needle):
    with pytest.raises(StepSyntaxError) as err:
        parse_step(text)
    assert needle in str(err.value)


def test_parse_steps_lines_json_and_errors_name_the_step():
    steps = parse_steps("# plan\nsplit(l1, [8, 16])\n\nparallel(l1)\n")
    assert [s.to_text() for s in steps] == ["split(l1, [8, 16])", "parallel(l1)"]
    assert parse_steps(json.dumps([s.to_json() for s in steps])) == steps
    assert parse_steps(steps) == steps
    with pytest.raises(StepSyntaxError, match="step 2: unknown step kind"):
        parse_steps(["parallel(l0)", "nope(l0)"])
    with pytest.raises(StepSyntaxError, match="step 1: a step is text or JSON, got int"):
        parse_steps("[1, 2]")
    with pytest.raises(StepSyntaxError, match="bad JSON step list"):
        parse_steps("[1, 2")


def test_describe_language_covers_every_kind():
    text = describe_language()
    for kind in STEP_KINDS.values():
        assert kind.signature in text and kind.example in text
    assert "d0" in text and "l0" in text


def test_registry_params_are_well_formed():
    for kind in STEP_KINDS.values():
        types = [p.type for p in kind.params]
        assert ParamType.LOOPS not in types[:-1], kind.name  # variadic only last
        assert callable(kind.applier)


# -- fuzzing: nothing but StepSyntaxError ever escapes, and whatever parses round-trips ----------
_FRAGMENTS = [
    "split",
    "reorder",
    "set_tile",
    "annotate",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "l1",
    "d0",
    "Z",
    "None",
    "-1",
    "8",
    "2.5",
    '"s"',
    "'q'",
    " ",
    "\\",
    '"',
    "1e999",
    "loops",
    "factors",
]


def _check_total(source):
    try:
        step = parse_step(source)
    except StepSyntaxError:
        return
    assert parse_step(step.to_text()) == step
    assert parse_step(step.to_json()) == step


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text(text):
    _check_total(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join))
def test_fuzz_token_soup(text):
    _check_total(text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(STEP_KINDS)) | _JSON,
    st.dictionaries(
        st.sampled_from(
            [
                "loop",
                "loops",
                "factors",
                "block",
                "decision",
                "index",
                "key",
                "value",
                "site",
                "scope",
                "buffer_index",
                "location",
                "factor_axis",
                "x",
            ]
        ),
        _JSON,
        max_size=4,
    ),
)
def test_fuzz_arbitrary_json(kind, args):
    obj = {"kind": kind, "args": args}
    _check_total(obj)
    try:
        text = json.dumps(obj)
    except ValueError:
        return
    _check_total(text)


def test_pathological_inputs_raise_only_syntax_errors():
    for text in (
        "[" * 100000,
        "{" + '"a":[' * 5000,
        "split(" + "[" * 5000,
        "\x00",
        "split(l1, [8, 8])\x00",
        "split(l1, [" + ",".join(["8"] * 3000) + "])"[:3999],
        "1" * 3999,
    ):
        _check_total(text)
    with pytest.raises(StepSyntaxError):
        parse_step(42)
