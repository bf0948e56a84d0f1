"""The Proposer ABC's batched and async entry points use the one sync implementation."""

from __future__ import annotations

import asyncio
import threading
import time

from tvm_llm_sched.proposers import Proposal, Proposer, RankedStep, Situation
from tvm_llm_sched.steps import parse_step


class SlowEcho(Proposer):
    """Answers after a delay with the workload name; records the threads it ran on."""

    name = "slow-echo"

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def propose(self, situation, *, k=4, validate=None):
        self.threads.add(threading.get_ident())
        time.sleep(0.2)
        step = RankedStep(step=parse_step(f"set_choice(d0, {situation.workload})"))
        rejection = validate(step.step) if validate else None
        return Proposal(steps=() if rejection else (step,))


def _situation(i: int) -> Situation:
    return Situation(workload=str(i), ir="", hardware="")


def test_apropose_overlaps_calls_and_keeps_order():
    proposer = SlowEcho()

    async def ask_all():
        return await asyncio.gather(*(proposer.apropose(_situation(i)) for i in range(5)))

    start = time.perf_counter()
    proposals = asyncio.run(ask_all())
    elapsed = time.perf_counter() - start
    assert [p.steps[0].step.to_text() for p in proposals] == [
        f"set_choice(d0, {i})" for i in range(5)
    ]
    assert elapsed < 0.8  # five 0.2 s calls overlapped, not serialized (1.0 s)
    assert threading.get_ident() not in proposer.threads


def test_propose_many_passes_each_validator():
    proposer = SlowEcho()
    validators = [None, lambda step: "refused"]
    first, second = proposer.propose_many([_situation(1), _situation(2)], validators=validators)
    assert first.steps and not second.steps
