"""`townhall export …`: records for the authority, as CSV or JSON, from the data dir — filings,
review cases, sanctions, reports, reach escalations, the figures per period — and DSA statements
of reasons in batches. Every export is recorded in the audit log; none holds a private identity."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import sys
from collections.abc import Callable, Coroutine, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import orjson
import typer

from townhall.cli.settings import ConfigOption, DataDirOption, settings_from
from townhall.config import Settings
from townhall.domain.errors import DomainError
from townhall.domain.oversight import Granularity

export_app = typer.Typer(help="Exports for the authority (no private identity data).")

STATEMENTS_FILE = "statements-{:06d}.json"
REFUSED = 2  # the exit status of an export the settings or the pack do not allow


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="csv or json")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="write here instead of stdout")
]
SinceOption = Annotated[
    str | None,
    typer.Option(help="from this ISO date (whole days in the pack's time zone) or date-time"),
]
UntilOption = Annotated[str | None, typer.Option(help="up to this ISO date (included)")]
CategoryOption = Annotated[str | None, typer.Option(help="only this category")]


@export_app.command("filings")
def filings(
    output_format: FormatOption = Format.CSV,
    category: CategoryOption = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Approved public accounts by category: operator entity, entitlement, dates."""
    from townhall.api.models.audit import Filing
    from townhall.app import running_services

    settings = settings_from(config, data_dir=data_dir)

    async def collect() -> list[dict[str, Any]]:
        async with running_services(settings) as services:
            accounts = await services.public_accounts.export_filings(category=category)
        return [Filing.of(account).model_dump(mode="json") for account in accounts]

    records = asyncio.run(collect())
    text = _as_csv(records) if output_format is Format.CSV else _as_json(records)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(records)} filing(s) to {output}", err=True)


@export_app.command("cases")
def cases(
    output_format: FormatOption = Format.CSV,
    since: SinceOption = None,
    until: UntilOption = None,
    category: CategoryOption = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Review cases opened in the period: sources, categories, decision, handling time, whether
    decided in time. Not the content judged (its length only)."""
    _export("cases", output_format, output, settings_from(config, data_dir=data_dir),
            since=since, until=until, category=category)  # fmt: skip


@export_app.command("sanctions")
def sanctions(
    output_format: FormatOption = Format.CSV,
    since: SinceOption = None,
    until: UntilOption = None,
    category: CategoryOption = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Sanctions applied in the period, with their state, times, ground, facts and appeal."""
    _export("sanctions", output_format, output, settings_from(config, data_dir=data_dir),
            since=since, until=until, category=category)  # fmt: skip


@export_app.command("reports")
def reports(
    output_format: FormatOption = Format.CSV,
    since: SinceOption = None,
    until: UntilOption = None,
    category: Annotated[str | None, typer.Option(help="only reports of this reason")] = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Reports filed in the period, their outcome and handling time; never who filed them."""
    _export("reports", output_format, output, settings_from(config, data_dir=data_dir),
            since=since, until=until, category=category)  # fmt: skip


@export_app.command("escalations")
def escalations(
    output_format: FormatOption = Format.CSV,
    since: SinceOption = None,
    until: UntilOption = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Posts that crossed a reach threshold in the period: measure, count, evidence digest, case."""
    _export("escalations", output_format, output, settings_from(config, data_dir=data_dir),
            since=since, until=until)  # fmt: skip


@export_app.command("stats")
def stats(
    output_format: FormatOption = Format.CSV,
    period: Annotated[Granularity, typer.Option(help="day, week or month")] = Granularity.DAY,
    since: SinceOption = None,
    until: UntilOption = None,
    category: CategoryOption = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Per period and category: cases opened and decided, handling times (median, p90),
    overdue cases, reports, sanctions by kind, appeals and reversals."""
    _export("stats", output_format, output, settings_from(config, data_dir=data_dir),
            since=since, until=until, category=category, period=period.value)  # fmt: skip


@export_app.command("dsa-statements")
def dsa_statements(
    out: Annotated[Path, typer.Option("--out", help="folder for statements-000001.json, …")],
    since: SinceOption = None,
    until: UntilOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """DSA statements of reasons (art. 24(5)) for the restrictions applied in the period, at most
    100 a file, without personal data. Only under a pack with enforcement.dsa_statements."""
    from townhall.app import running_services

    settings = settings_from(config, data_dir=data_dir)
    if any(out.glob("statements-*.json")):  # an earlier run's files would read as this one's
        _refuse(f"{out} already holds statements files; give an empty or new folder")

    async def write() -> int:
        written = number = 0
        async with running_services(settings) as services:
            async for batch in services.regulator.dsa_statements(None, since=since, until=until):
                number += 1
                out.mkdir(parents=True, exist_ok=True)
                path = out / STATEMENTS_FILE.format(number)
                body = orjson.dumps({"statements": batch}, option=orjson.OPT_INDENT_2)
                path.write_bytes(body + b"\n")
                written += len(batch)
                typer.echo(f"{path.name}: {len(batch)} statement(s), {written} so far", err=True)
        return written

    written = _run(write)
    typer.echo(f"wrote {written} statement(s) to {out}", err=True)


def _export(
    what: str, output_format: Format, output: Path | None, settings: Settings, **filters: Any
) -> None:
    """Stream the records page by page into the output, with progress on stderr, each record
    as /api/v1/audit shows it."""
    from townhall.api.models import audit as shown
    from townhall.api.models.common import Model
    from townhall.app import running_services

    models: dict[str, type[Model]] = {
        "cases": shown.AuditCase,
        "sanctions": shown.AuditSanction,
        "reports": shown.AuditReport,
        "escalations": shown.AuditEscalation,
        "stats": shown.StatsRow,
    }
    model = models[what]

    async def write(target: IO[str]) -> int:
        pages = _Pages(output_format, target)
        async with running_services(settings) as services:
            async for page in services.regulator.export(what, **filters):
                pages.write([model.model_validate(r).model_dump(mode="json") for r in page])
                if pages.count > len(page):  # only long exports say how far they are
                    typer.echo(f"{what}: {pages.count} record(s) so far", err=True)
        pages.finish()
        return pages.count

    with _opened(output) as target:
        count = _run(lambda: write(target))
    if output is not None:
        typer.echo(f"wrote {count} {what} record(s) to {output}", err=True)


def _run(work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run the export; a refusal (a bad date, a pack that files no statements) exits 2."""
    try:
        return asyncio.run(work())
    except DomainError as exc:
        _refuse(exc.message)


def _refuse(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(REFUSED)


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file that appears under its name only once the export is complete."""
    if output is None:
        yield sys.stdout
        return
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as file:
            yield file
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


class _Pages:
    """Pages of records written as they come: CSV rows, or one JSON array a record at a time."""

    def __init__(self, output_format: Format, target: IO[str]) -> None:
        self._json = output_format is Format.JSON
        self._target = target
        self._table: csv.DictWriter | None = None
        self.count = 0

    def write(self, page: list[dict[str, Any]]) -> None:
        if self._json:
            for record in page:
                self._target.write("[\n" if self.count == 0 else ",\n")
                self._target.write(orjson.dumps(record).decode())
                self.count += 1
            return
        if self._table is None and page:
            self._table = csv.DictWriter(
                self._target, fieldnames=list(page[0]), lineterminator="\n"
            )
            self._table.writeheader()
        if self._table is not None:
            self._table.writerows(_flat(record) for record in page)
        self.count += len(page)

    def finish(self) -> None:
        if self._json:
            self._target.write("[]\n" if self.count == 0 else "\n]\n")
        self._target.flush()


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """CSV cells: a list becomes its items joined by commas."""
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else value
        for key, value in record.items()
    }


def _as_json(records: list[dict[str, Any]]) -> str:
    return orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"


def _as_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()
