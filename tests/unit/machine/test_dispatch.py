"""`apply` finds each input's handler by the input's exact class: every operator command has
one, every engine report goes to `reports.report`, and no message class is a subclass another
could be mistaken for."""

from __future__ import annotations

from syncctl.contract.messages import MESSAGE_TYPES, OPERATOR_COMMAND_TYPES
from syncctl.machine.core import _COMMANDS
from syncctl.machine.reports import report


def _type_of(message_class: type) -> str:
    return message_class.model_fields["type"].default


def test_every_operator_command_has_its_handler_and_every_report_goes_to_report() -> None:
    commands = {cls for cls in MESSAGE_TYPES if _type_of(cls) in OPERATOR_COMMAND_TYPES}
    assert set(_COMMANDS) == commands
    for cls in MESSAGE_TYPES:
        if cls not in commands:
            assert _COMMANDS.get(cls, report) is report, cls.__name__


def test_no_message_class_has_a_subclass_that_the_lookup_by_class_would_miss() -> None:
    for cls in MESSAGE_TYPES:
        assert cls.__subclasses__() == [], cls.__name__
