"""The reference runner: a small stand-in migration engine (see docs/runner-protocol.md)."""

from syncctl.runner.service import Runner
from syncctl.runner.simulation import SimulatedJob

__all__ = ["Runner", "SimulatedJob"]
