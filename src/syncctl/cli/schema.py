"""`syncctl schema`: write the contract's JSON Schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncctl.contract.asyncapi import asyncapi_yaml
from syncctl.contract.schema import write_schemas


def schema_command(
    out: Annotated[Path, typer.Option(help="Directory to write the schemas into.")] = Path(
        "docs/schemas"
    ),
    asyncapi: Annotated[
        Path, typer.Option(help="Where to write the AsyncAPI 3.0 document.")
    ] = Path("docs/asyncapi.yaml"),
) -> None:
    """Write JSON Schemas of control messages, job records and events (one file each), and the
    AsyncAPI document of the four topics."""
    for path in write_schemas(out):
        typer.echo(path)
    asyncapi.parent.mkdir(parents=True, exist_ok=True)
    asyncapi.write_text(asyncapi_yaml())
    typer.echo(asyncapi)
