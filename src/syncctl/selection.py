"""Which jobs a bulk command is for: a selector over the job records (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from syncctl.contract import JobRecord, Mode, Status
from syncctl.errors import InvalidCommand

_TERMS = ("status", "mode", "prefix", "source")


class Selector(BaseModel):
    """Every given term must hold (AND); several statuses are alternatives (OR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: frozenset[Status] = frozenset()
    mode: Mode | None = None
    prefix: str | None = None
    source: str | None = None

    @classmethod
    def parse(cls, terms: Iterable[str]) -> Selector:
        """From `status=CDC_RUNNING,PAUSED`, `mode=continuous`, `prefix=orders-`, `source=shop`."""
        fields: dict[str, object] = {}
        for term in terms:
            name, sep, value = term.partition("=")
            if not sep or name not in _TERMS or not value:
                raise InvalidCommand(
                    f"selector {term!r}: use NAME=VALUE with NAME one of {', '.join(_TERMS)} "
                    "(e.g. status=CDC_RUNNING,PAUSED or source=shop)"
                )
            fields["statuses" if name == "status" else name] = (
                frozenset(value.upper().split(",")) if name == "status" else value
            )
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
            and (self.prefix is None or record.job_id.startswith(self.prefix))
            and (
                self.source is None
                or (record.spec is not None and record.spec.source == self.source)
            )
        )
