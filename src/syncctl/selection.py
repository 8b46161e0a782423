"""Which jobs a bulk command is for: a selector over the job records (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from syncctl.contract import JobRecord, Mode, Stage, Status
from syncctl.errors import InvalidCommand

_TERMS = ("status", "mode", "stage", "prefix", "source", "asked_by")


class Selector(BaseModel):
    """Every given term must hold (AND); several statuses are alternatives (OR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: frozenset[Status] = frozenset()
    mode: Mode | None = None
    stage: Stage | None = None
    prefix: str | None = None
    source: str | None = None
    asked_by: str | None = None  # who asked last (or created the job), as History shows

    @classmethod
    def parse(cls, terms: Iterable[str]) -> Selector:
        """From `status=CDC_RUNNING,PAUSED`, `mode=continuous`, `stage=cdc`, `prefix=orders-`,
        `source=shop`, `asked_by=alice`."""
        fields: dict[str, object] = {}
        for term in terms:
            name, sep, value = term.partition("=")
            if not sep or name not in _TERMS or not value:
                raise InvalidCommand(
                    f"selector {term!r}: use NAME=VALUE with NAME one of {', '.join(_TERMS)} "
                    "(e.g. status=CDC_RUNNING,PAUSED or source=shop)"
                )
            if name == "status":
                fields["statuses"] = frozenset(value.upper().split(","))
            else:
                fields[name] = value.lower() if name in ("mode", "stage") else value
        if not fields:
            raise InvalidCommand("a selector needs at least one term: it never means every job")
        try:
            return cls.model_validate(fields)
        except ValidationError as error:
            problem = error.errors(include_url=False)[0]
            raise InvalidCommand(f"selector: {problem['msg']} ({problem['input']!r})") from None

    def matches(self, record: JobRecord) -> bool:
        return (
            (not self.statuses or record.status in self.statuses)
            and (self.mode is None or record.mode is self.mode)
            and (self.stage is None or record.stage is self.stage)
            and (self.prefix is None or record.job_id.startswith(self.prefix))
            and (
                self.source is None
                or (record.spec is not None and record.spec.source == self.source)
            )
            and (self.asked_by is None or asked_by(record) == self.asked_by)
        )

    def terms(self) -> list[str]:
        """The selector as `parse` takes it (what a link or a bulk request carries)."""
        found = []
        if self.statuses:
            found.append("status=" + ",".join(sorted(s.value for s in self.statuses)))
        for name in ("mode", "stage", "prefix", "source", "asked_by"):
            value = getattr(self, name)
            if value is not None:
                found.append(f"{name}={value}")
        return found


def asked_by(record: JobRecord) -> str | None:
    """Who asked for the job's last change, or created it."""
    return record.last_requested_by or record.created_by
