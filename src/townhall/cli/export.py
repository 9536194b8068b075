"""`townhall export …`: records for the authority, as CSV or JSON, from the data dir."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from townhall.cli.settings import ConfigOption, DataDirOption, settings_from

export_app = typer.Typer(help="Exports for the authority (no private identity data).")


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"


@export_app.command("filings")
def filings(
    output_format: Annotated[Format, typer.Option("--format", help="csv or json")] = Format.CSV,
    category: Annotated[str | None, typer.Option(help="only this category")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here instead of stdout")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Approved public accounts by category: operator entity, entitlement, dates."""
    from townhall.app import running_services

    settings = settings_from(config, data_dir=data_dir)

    async def collect() -> list[dict[str, Any]]:
        async with running_services(settings) as services:
            return await services.public_accounts.export_filings(category=category)

    records = asyncio.run(collect())
    text = _as_csv(records) if output_format is Format.CSV else _as_json(records)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(records)} filing(s) to {output}", err=True)


def _as_json(records: list[dict[str, Any]]) -> str:
    return orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"


def _as_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()
