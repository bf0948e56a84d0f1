"""Step-level IR: canonical site names, compact rendering of a state, naming-invariant hash."""

from .hardware_line import hardware_summary
from .naming import BlockSite, LoopSite, NameTable
from .renderer import main_func, render, written_buffers
from .syntax import RESERVED_WORDS, state_hash, token_proxy

__all__ = [
    "RESERVED_WORDS",
    "BlockSite",
    "LoopSite",
    "NameTable",
    "hardware_summary",
    "main_func",
    "render",
    "state_hash",
    "token_proxy",
    "written_buffers",
]
