"""The control proposer: a seeded uniform pick from the legal-step menu.

It reads nothing but the :class:`~tvm_llm_sched.proposers.base.Situation`'s menu (the same menu a
model is shown, decision edits and structural steps alike) and gets the same call budget as the
expert policy, so a proposer that does not beat it adds nothing over the search's own moves.
"""

from __future__ import annotations

import random
import zlib

from .base import Proposal, Proposer, RankedStep, Situation, Validator


class RandomProposer(Proposer):
    """Uniform random steps from the legal-step menu, reproducible for a seed.

    Parameters
    ----------
    seed : int
        Mixed with each situation's step IR, so a state always gets the same picks for a seed
        (a replayed run asks again with the same situations).

    Examples
    --------
    >>> from tvm_llm_sched.proposers import create
    >>> create("random", seed=3).name
    'random'
    """

    name = "random"
    needs_menu = True  # the menu is all it reads
    local = True  # computes on this CPU: not queried while candidates are timed
    instant = True

    def __init__(self, *, seed: int = 0):
        self.seed = int(seed)

    def propose(
        self, situation: Situation, *, k: int = 4, validate: Validator | None = None
    ) -> Proposal:
        """Up to ``k`` distinct menu steps in a random order (each validated if asked)."""
        rng = random.Random(zlib.crc32(situation.ir.encode()) ^ self.seed)
        order = list(situation.menu)
        rng.shuffle(order)
        steps, rejections = [], []
        for step in order:
            if len(steps) >= k:
                break
            rejection = validate(step) if validate is not None else None
            if rejection is None:
                steps.append(RankedStep(step=step, rationale="random pick from the legal menu"))
            else:
                rejections.append(rejection)
        return Proposal(steps=tuple(steps), rejections=tuple(rejections))
