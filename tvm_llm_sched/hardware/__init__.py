"""Host hardware: the llvm target for this machine and the CPU facts prompts and peaks need."""

from .cpu import CpuInfo, detect_cpu
from .target import host_target, resolve_target, target_to_dict
from .threads import use_target_cores

__all__ = [
    "CpuInfo",
    "detect_cpu",
    "host_target",
    "resolve_target",
    "target_to_dict",
    "use_target_cores",
]
