"""Inputs, outputs and rules of the job state machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import BaseModel

from syncctl.contract import ControlMessage, Event, JobRecord
from syncctl.contract.statuses import WireEnum

_Model = TypeVar("_Model", bound=BaseModel)
_set = object.__setattr__
_new = object.__new__


def replaced(model: _Model, changes: Mapping[str, Any]) -> _Model:
    """`model.model_copy(update=changes)`: a new model that shares every unchanged field, as a
    shallow copy does, and is not validated again (the machine only puts values of the fields'
    types). Written out because model_copy's generic `copy.copy` of three dicts was a fifth of
    the state machine's time per command; tests/unit/machine/test_replaced.py holds it equal.
    """
    copy = _new(model.__class__)
    values = model.__dict__.copy()
    values.update(changes)
    fields_set = model.__pydantic_fields_set__
    # Shared when nothing new is set (the models are frozen: pydantic never adds to it); a
    # record read from the changelog or made from a template has every field set already.
    if len(fields_set) != len(values) and not changes.keys() <= fields_set:
        fields_set = fields_set | changes.keys()
    _set(copy, "__dict__", values)
    _set(copy, "__pydantic_fields_set__", fields_set)
    _set(copy, "__pydantic_extra__", None)
    _set(copy, "__pydantic_private__", None)
    return copy


def built(cls: type[_Model], values: dict[str, Any]) -> _Model:
    """A `cls` holding `values`, which name every one of its fields, not validated (the machine
    only puts values of the fields' types): what `replaced` makes from a template whose every
    field it replaces, without copying the template's values first.
    tests/unit/machine/test_replaced.py holds it equal to validating `values`."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", _every_field(cls))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def _every_field(cls: type[BaseModel]) -> set[str]:
    # One set per class, shared by all its built models: frozen models never add to it.
    every = _EVERY_FIELD.get(cls)
    if every is None:
        every = _EVERY_FIELD[cls] = set(cls.model_fields)
    return every


_EVERY_FIELD: dict[type[BaseModel], set[str]] = {}


def template(model: _Model) -> _Model:
    """`model`, validated once, as the starting point of `replaced`: every field counts as set
    (as in a model read from JSON that has them all), so its copies share that set."""
    _set(model, "__pydantic_fields_set__", set(model.__dict__))
    return model


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    """The timer's input: a pending stop, pause or resume may have passed its deadline, or a
    scheduled command may be due."""

    job_id: str
    type: Literal["deadline"] = "deadline"


@dataclass(frozen=True, slots=True)
class RetentionReached:
    """The timer's input: an ended job's retention period may have passed."""

    job_id: str
    type: Literal["retention"] = "retention"


MachineInput = ControlMessage | DeadlineReached | RetentionReached


@dataclass(frozen=True, slots=True)
class Rules:
    stop_deadline: timedelta = timedelta(seconds=60)
    # A drain that keeps making progress moves a stop's deadline, up to this after the request.
    stop_deadline_max: timedelta = timedelta(minutes=10)
    # Operator commands and status-changing reports remembered per job for idempotency.
    history_limit: int = 256
    # How far ahead a complete_cdc may be scheduled.
    schedule_limit: timedelta = timedelta(days=366)
    # How long an ended job's record is kept; None keeps it for ever.
    retention: timedelta | None = timedelta(days=30)


DEFAULT_RULES = Rules()


class Outcome(WireEnum):
    """What an input did; events say it to users, this says it to logs and metrics."""

    ACCEPTED = "accepted"  # an operator command changed the status
    REJECTED = "rejected"  # an operator command was not allowed
    CHANGED = "changed"  # a runner report or a deadline changed the status
    RECORDED = "recorded"  # the record changed, the status did not (e.g. progress)
    IGNORED = "ignored"  # a runner report that does not apply in this status
    DUPLICATE = "duplicate"  # the command_id was already applied to this job
    NOT_DUE = "not_due"  # a timer input with nothing due
    EXPIRED = "expired"  # an ended job's record was removed after its retention period


class Transition(NamedTuple):
    record: JobRecord | None
    events: tuple[Event, ...]
    outcome: Outcome
    note: str | None = None
