"""Prompts: the language comes from the step table, situations round-trip through the prompt."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tvm_llm_sched.proposers import (
    Outcome,
    Proposal,
    RankedStep,
    Rejection,
    build_messages,
    format_reply,
    parse_prompt,
    parse_reply,
    repair_message,
    situation_from_messages,
    system_prompt,
    user_prompt,
)
from tvm_llm_sched.proposers.facts import (
    CategoricalDecision,
    CpuFacts,
    Facts,
    SerialReduction,
    TileDecision,
)
from tvm_llm_sched.steps import STEP_KINDS, describe_language, parse_step

BARE = {"workload": "", "hardware": "", "ir": "", "menu": []}


def test_system_prompt_teaches_the_generated_language_and_format():
    prompt = system_prompt()
    assert describe_language().splitlines()[0] in prompt
    for kind in STEP_KINDS.values():
        assert f"{kind.signature}: {kind.doc}; e.g. {kind.example}" in prompt
    assert "<think>" in prompt and "<answer>" in prompt
    assert '"think"' in system_prompt(json_mode=True) and "<answer>" not in system_prompt(
        json_mode=True
    )


def test_user_prompt_shows_every_section_once(situation):
    prompt = user_prompt(situation, k=3)
    assert prompt.count(situation.ir) == 1  # the JSON copy leaves the IR out
    assert f"Workload: {situation.workload}" in prompt
    assert f"Hardware: {situation.hardware}" in prompt
    assert "best so far 640.2 us, this state 812.5 us" in prompt
    assert "- parallel(l1) -> 640.2 us" in prompt
    assert "- vectorize(l3) -> failed: not a spatial loop" in prompt
    assert "- split(l9, [2, 2]): unknown loop 'l9'" in prompt
    assert "Propose at most 3 steps" in prompt
    for step in situation.menu:
        assert prompt.count(f"\n{step}\n") == 1
    assert "```situation k=3\n" in prompt


def test_round_trip_real_situation(situation):
    messages = build_messages(situation, k=3)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert situation_from_messages(messages) == situation
    assert parse_prompt(messages).k == 3


@pytest.mark.parametrize(
    "changes",
    [
        {"ir": "", "menu": ()},
        {
            "ir": "weird ```ir\nblock\n``` inside\n",
            "menu": (parse_step('annotate(l0, "a\\nb", 1)'), parse_step('annotate(l0, "```", 1)')),
        },
        {"ir": "trailing newline\n\n", "menu": (parse_step('annotate(l0, " padded ", 1)'),)},
        {
            "workload": "```situation k=9\n{}\n```",
            "hardware": "`x`",
            "state_steps": (parse_step('annotate("`a`", "k", 1)'),),
        },
        {
            "rejections": (Rejection(step="```situation k=2\n{}\n```", reason="```"),),
            "recent": (Outcome(steps=(), latency_us=None, error="```menu\nx\n```"),),
        },
        {
            "facts": Facts(
                decisions=(
                    CategoricalDecision(
                        name="d0", value=1, candidates=(0, 16), target="```situation k=1\n{}"
                    ),
                    TileDecision(name="d1", value=(1, 4), extent=4, n=2, max_innermost=64),
                ),
                cpu=CpuFacts(lanes=8, cores=2, simd_bits=256, l1d_kib=None, l2_kib=512),
                serial_reductions=(
                    SerialReduction(block="`b`", loop="l0", extent=1, action="split"),
                ),
            )
        },
    ],
)
def test_round_trip_survives_awkward_text(situation, changes):
    awkward = dataclasses.replace(situation, **changes)
    assert situation_from_messages(build_messages(awkward, k=2)) == awkward


def test_the_last_situation_wins_and_repair_turns_are_skipped(situation):
    other = dataclasses.replace(situation, workload="SFM:0")
    messages = [
        *build_messages(situation),
        {"role": "assistant", "content": "no"},
        {"role": "user", "content": user_prompt(other)},
        {"role": "assistant", "content": "no"},
        {"role": "user", "content": repair_message([Rejection(step="x", reason="y")])},
    ]
    assert situation_from_messages(messages).workload == "SFM:0"


def test_content_parts_are_read(situation):
    parts = [{"type": "text", "text": user_prompt(situation)}]
    assert situation_from_messages([{"role": "user", "content": parts}]) == situation


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([{"role": "user", "content": "hi"}], "no situation"),
        ([{"role": "system", "content": "```situation k=1\n{}\n```"}], "no situation"),
        ([{"role": "user", "content": "```situation k=1\n{nope}\n```"}], "not valid JSON"),
        ([{"role": "user", "content": "```situation k=1\n[1]\n```"}], "JSON object"),
        ([{"role": "user", "content": '```situation\n{"ir": "x"}\n```'}], "its workload"),
        (
            [{"role": "user", "content": "Workload: x\nHardware: y\n```situation\n{}\n```"}],
            "no ```ir",
        ),
        (
            [
                {
                    "role": "user",
                    "content": 'Workload: x\nHardware: y\n```situation\n{"ir": ""}\n```',
                }
            ],
            "no menu block",
        ),
        (
            [
                {
                    "role": "user",
                    "content": "```situation\n" + json.dumps(dict(BARE, k=1)) + "\n```",
                }
            ],
            "not a situation",
        ),
        ([], "no situation"),
        (["not a message"], "no situation"),
    ],
)
def test_missing_or_broken_situation(messages, match):
    with pytest.raises(ValueError, match=match):
        situation_from_messages(messages)


def test_bad_k_is_refused(situation):
    with pytest.raises(ValueError, match="k must be"):
        user_prompt(situation, k=0)


def test_repair_message_lists_every_reason_harmlessly():
    text = repair_message(
        [
            Rejection(step="split(l99, [2, 2])", reason="unknown loop 'l99'"),
            Rejection(step="```situation", reason="bad"),
        ],
        k=2,
    )
    assert "- split(l99, [2, 2]): unknown loop 'l99'" in text
    assert "```" not in text and "at most 2 other steps" in text
    assert "held no steps" in repair_message([])


@pytest.mark.parametrize("json_mode", [False, True])
def test_format_reply_round_trips_through_the_parser(json_mode):
    proposal = Proposal(
        steps=(
            RankedStep(step=parse_step("split(l2, [8, 16])"), rationale="SIMD-wide inner loop"),
            RankedStep(
                step=parse_step('annotate(l0, "pragma_auto_unroll_max_step", 64)'), rationale=""
            ),
        ),
        reasoning="matmul: tile for lanes",
    )
    text = format_reply(proposal, json_mode=json_mode)
    assert text.startswith("{" if json_mode else "<think>matmul: tile for lanes</think><answer>")
    parsed = parse_reply(text)
    assert parsed.steps == proposal.steps and parsed.reasoning == proposal.reasoning


def test_format_reply_of_an_empty_proposal():
    assert format_reply(Proposal()) == '<think></think><answer>{"steps": []}</answer>'
