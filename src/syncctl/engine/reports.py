"""Reports an engine sends the worker (snapshot_started, progress, stopped, ...): the same
envelope for every one of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from syncctl.client import SyncJobsClient
from syncctl.contract.messages import MESSAGE_TYPES
from syncctl.logging import get_logger

log = get_logger("syncctl.engine")
_REPORT_CLASSES = {cls.model_fields["type"].default: cls for cls in MESSAGE_TYPES}


class Reporter:
    """Sends an engine's reports as `engine_id`. `owns(job_id)` says whether the job is still
    this engine's: a report for a job whose partition went to another engine is not sent (that
    engine carries the job on and reports it)."""

    def __init__(
        self,
        client: SyncJobsClient,
        engine_id: str,
        owns: Callable[[str], bool] = lambda job_id: True,
    ) -> None:
        self._client = client
        self._engine_id = engine_id
        self._owns = owns

    def message(self, kind: type[BaseModel] | str, job_id: str, **fields: Any) -> Any:
        """A report of `kind` (its class, or its `type` name) for `job_id`."""
        cls = _REPORT_CLASSES[kind] if isinstance(kind, str) else kind
        return cls(
            command_id=str(uuid.uuid4()),
            job_id=job_id,
            issued_at=datetime.now(UTC),
            requested_by=self._engine_id,
            **fields,
        )

    def send(self, kind: type[BaseModel] | str, job_id: str, **fields: Any) -> None:
        if not self._owns(job_id):
            log.info("report not sent: the job is another engine's now", job_id=job_id)
            return
        self._client.send(self.message(kind, job_id, **fields))

    def send_many(self, reports: Iterable[Any]) -> None:
        self._client.send_many([r for r in reports if self._owns(r.job_id)])
