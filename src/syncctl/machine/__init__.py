"""The pure job state machine: no I/O, no clock, no randomness."""

from syncctl.machine.core import apply
from syncctl.machine.model import (
    DEFAULT_RULES,
    DeadlineReached,
    MachineInput,
    Outcome,
    RetentionReached,
    Rules,
    Transition,
)
from syncctl.machine.rejections import allowed_commands, schedulable

__all__ = [
    "DEFAULT_RULES",
    "DeadlineReached",
    "MachineInput",
    "Outcome",
    "RetentionReached",
    "Rules",
    "Transition",
    "allowed_commands",
    "apply",
    "schedulable",
]
