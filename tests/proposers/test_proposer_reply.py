"""Reply parsing: every accepted wrapping, every rejection path with its reason."""

from __future__ import annotations

import json

import pytest

from tvm_llm_sched.errors import ReplyParseError
from tvm_llm_sched.proposers import MAX_REPLY_CHARS, parse_reply

STEPS = {"steps": [{"step": "parallel(l1)", "rationale": "use the cores"}, "split(l2, [8, 16])"]}


def _texts(parsed) -> list[str]:
    return [s.step.to_text() for s in parsed.steps]


@pytest.mark.parametrize(
    "reply",
    [
        f"<think>plan</think><answer>{json.dumps(STEPS)}</answer>",
        f"<think>plan</think>\n<answer>\n```json\n{json.dumps(STEPS, indent=1)}\n```\n</answer>",
        f"<THINK>plan</THINK><Answer>{json.dumps(STEPS)}</Answer>",
        f"<think>plan</think>Here you go:\n```json\n{json.dumps(STEPS)}\n```\nGood luck.",
        f"<think>plan</think>{json.dumps(STEPS)}",  # bare JSON after the tags
        json.dumps({"think": "plan", **STEPS}),  # JSON mode
        f"<think>plan</think><answer>{json.dumps(STEPS)}",  # closing tag forgotten, JSON complete
    ],
)
def test_accepted_wrappings(reply):
    parsed = parse_reply(reply)
    assert _texts(parsed) == ["parallel(l1)", "split(l2, [8, 16])"]
    assert parsed.steps[0].rationale == "use the cores"
    assert parsed.reasoning == "plan"
    assert parsed.rejections == ()


def test_bare_json_skips_unrelated_objects():
    reply = 'Config {"a": 1} first, then {"steps": ["unroll(l3)"]} and {"b": 2}'
    assert _texts(parse_reply(reply)) == ["unroll(l3)"]


@pytest.mark.parametrize(
    "answer",
    [
        {"step": "parallel(l1)", "rationale": "cores"},
        {"applied_strategy": "loop_parallelization", "step": "parallel(l1)"},
        {"kind": "parallel", "args": {"loop": "l1"}},
        ["parallel(l1)"],
        {"steps": [{"step": {"kind": "parallel", "args": {"loop": "l1"}}}]},
        {"steps": [{"kind": "parallel", "args": {"loop": "l1"}, "rationale": "cores"}]},
    ],
)
def test_step_tp_and_json_step_forms(answer):
    parsed = parse_reply(f"<answer>{json.dumps(answer)}</answer>")
    assert _texts(parsed) == ["parallel(l1)"] and parsed.rejections == ()


def test_steps_are_canonicalised():
    parsed = parse_reply(
        '<answer>{"steps": ["split( l1 , [8,-1] )", "reorder([l3, l2])"]}</answer>'
    )
    assert _texts(parsed) == ["split(l1, [8, None])", "reorder(l3, l2)"]


@pytest.mark.parametrize(
    ("reply", "finish_reason", "reason"),
    [
        ("", None, "empty reply"),
        ("   \n ", None, "empty reply"),
        (None, None, "empty reply"),
        ("I would parallelize l1.", None, "no <answer>"),
        ("<think>l1 is spatial so", "length", "truncated at max_tokens"),
        ("<think>l1 is spatial so", None, "truncated before it finished"),
        ('<think>x</think><answer>{"steps": ["parallel(l1)"', "length", "truncated"),
        ('<think>x</think><answer>{"steps": ["parallel(l1)"', None, "no closing </answer>"),
        ("Let me think about tiling first", "length", "before any answer"),
        ("<answer>{'steps': ['parallel(l1)']}</answer>", None, "not valid JSON"),
        ("<answer></answer>", None, "<answer> is empty"),
        ('<answer>{"steps": "parallel(l1)"}</answer>', None, '"steps" must be a list'),
        ('<answer>{"moves": ["parallel(l1)"]}</answer>', None, 'no "steps" list'),
        ("<answer>42</answer>", None, 'no "steps" list'),
    ],
)
def test_whole_reply_rejections(reply, finish_reason, reason):
    with pytest.raises(ReplyParseError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse_reply(reply, finish_reason=finish_reason)


def test_too_long_reply_is_rejected_unread():
    with pytest.raises(ReplyParseError, match="over the .*character limit"):
        parse_reply("<answer>" + " " * MAX_REPLY_CHARS + "</answer>")


def test_complete_answer_survives_finish_reason_length():
    parsed = parse_reply(
        '<think>x</think><answer>{"steps": ["parallel(l1)"]}</answer>', finish_reason="length"
    )
    assert _texts(parsed) == ["parallel(l1)"]


def test_per_step_rejections_keep_the_good_steps():
    reply = json.dumps(
        {
            "steps": [
                "parallel(l1)",
                "paralel(l1)",  # unknown kind
                "split(l2, 8, 16)",  # wrong arity
                {"step": "parallel( l1 )"},  # duplicate after canonicalisation
                42,  # not a step entry
                {"rationale": "no step"},
                "vectorize(l3)",
            ]
        }
    )
    parsed = parse_reply(reply)
    assert _texts(parsed) == ["parallel(l1)", "vectorize(l3)"]
    reasons = [r.reason for r in parsed.rejections]
    assert [r.step for r in parsed.rejections][:3] == [
        "paralel(l1)",
        "split(l2, 8, 16)",
        "parallel(l1)",
    ]
    assert reasons[0].startswith("step 2: unknown step kind 'paralel'")
    assert reasons[1].startswith("step 3: split takes 2 argument(s)")
    assert reasons[2] == "step 4 duplicates step 1"
    assert reasons[3].startswith("step 5: an entry must be")
    assert reasons[4].startswith("step 6: an entry must be")


def test_empty_steps_list_parses_to_nothing():
    parsed = parse_reply('<think>done</think><answer>{"steps": []}</answer>')
    assert parsed.steps == () and parsed.rejections == () and parsed.reasoning == "done"
