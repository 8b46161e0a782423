"""A long-lived client (the runner sends every progress report through one) stays small."""

from __future__ import annotations

from datetime import UTC, datetime

from syncctl.client import SENT_COMMANDS_REMEMBERED, SyncJobsClient
from syncctl.contract import Progress, Stats, Terminate

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_the_client_remembers_a_bounded_number_of_operator_commands_and_no_reports() -> None:
    client = SyncJobsClient("127.0.0.1:1")
    for number in range(SENT_COMMANDS_REMEMBERED + 5):
        client._remember_sent(Terminate(command_id=f"c{number}", job_id="j", issued_at=NOW))
    for number in range(100):
        report = Progress(
            command_id=f"p{number}", job_id="j", issued_at=NOW, stats=Stats(rows_migrated=number)
        )
        client._remember_sent(report)
    remembered = client._sent_at
    assert len(remembered) == SENT_COMMANDS_REMEMBERED
    assert "c0" not in remembered and f"c{SENT_COMMANDS_REMEMBERED + 4}" in remembered
    assert not any(command_id.startswith("p") for command_id in remembered)
