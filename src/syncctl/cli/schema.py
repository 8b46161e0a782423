"""`syncctl schema`: write the contract's JSON Schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncctl.contract.schema import write_schemas


def schema_command(
    out: Annotated[Path, typer.Option(help="Directory to write the schemas into.")] = Path("docs/schemas"),
) -> None:
    """Write JSON Schemas of control messages, job records and events (one file each)."""
    for path in write_schemas(out):
        typer.echo(path)
