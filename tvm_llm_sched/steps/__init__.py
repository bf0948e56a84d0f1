"""The step language: atomic schedule transformations, their parser, states and legal moves."""

from .kinds import STEP_KINDS, Param, ParamType, StepKind, describe_language
from .legal import legal_steps
from .parser import parse_step, parse_steps
from .state import State, design_space_context, design_space_schedules
from .step import Step

__all__ = [
    "STEP_KINDS",
    "Param",
    "ParamType",
    "State",
    "Step",
    "StepKind",
    "describe_language",
    "design_space_context",
    "design_space_schedules",
    "legal_steps",
    "parse_step",
    "parse_steps",
]
