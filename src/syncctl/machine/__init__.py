"""The pure job state machine: no I/O, no clock, no randomness."""

from syncctl.machine.core import DEFAULT_RULES, allowed_commands, apply, schedulable
from syncctl.machine.model import DeadlineReached, MachineInput, Outcome, Rules, Transition

__all__ = [
    "DEFAULT_RULES",
    "DeadlineReached",
    "MachineInput",
    "Outcome",
    "Rules",
    "Transition",
    "allowed_commands",
    "apply",
    "schedulable",
]
