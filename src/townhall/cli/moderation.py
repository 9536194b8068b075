"""`townhall moderation train | rescan | image-hashes import | image-hashes export`: the
moderation pipeline's offline work, on the data dir."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from townhall.cli.settings import ConfigOption, DataDirOption, migrated_database, settings_from
from townhall.domain.errors import DomainError
from townhall.domain.time import iso_utc

moderation_app = typer.Typer(help="The moderation pipeline's offline work.", no_args_is_help=True)

DEFAULT_THRESHOLD = 0.5  # where the pack does not turn the classifier on yet


@moderation_app.command()
def train(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    min_examples: Annotated[
        int, typer.Option("--min-examples", min=1, help="refuse with fewer decided texts")
    ] = 50,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the report here, as JSON")
    ] = None,
) -> None:
    """Train the Chinese classifier (zh_ngram) on reviewers' decisions about messages and posts:
    removals teach their categories, approvals teach what is fine. A fifth is held out to measure
    it. The server loads the model on its next start, where the pack turns zh_ngram on."""
    from townhall.domain.classifiers import ZH_NGRAM
    from townhall.packs import load_pack
    from townhall.services.classifiers import built_in_classifiers_installed

    if not built_in_classifiers_installed():
        typer.echo(
            "error: training needs the classifiers extra: pip install 'townhall[classifiers]'",
            err=True,
        )
        raise typer.Exit(1)
    from townhall.services.audit import AuditTrail
    from townhall.services.classifier_plugins import train_from_decisions, zh_ngram_path
    from townhall.services.trainings import Trainings

    settings = settings_from(config, data_dir=data_dir)
    rule = load_pack(settings.policy_pack).moderation.classifiers.get(ZH_NGRAM)
    threshold = rule.threshold if rule is not None else DEFAULT_THRESHOLD

    async def run() -> dict[str, Any]:
        async with migrated_database(settings) as database:
            model = await train_from_decisions(
                database, settings.data_dir, min_examples=min_examples, threshold=threshold
            )
            trainings = Trainings(database, AuditTrail(clock=time.time), clock=time.time)
            await trainings.record(ZH_NGRAM, model.report)  # for the console
            return model.report

    try:
        report = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error
    path = zh_ngram_path(settings.data_dir)
    _print_report(report, path)
    if json_file is not None:
        rendered = {**report, "model": str(path)}
        json_file.write_bytes(orjson.dumps(rendered, option=orjson.OPT_INDENT_2) + b"\n")


def _print_report(report: dict[str, Any], path: Path) -> None:
    console = Console()
    console.print(
        f"trained on {report['training_size']} decisions, "
        f"{report['validation_size']} held out for validation"
    )
    table = Table(title=f"validation, flagging at score ≥ {report['threshold']}")
    for column in ("category", "trained +/-", "validated +/-", "precision", "recall"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, result in report["categories"].items():
        table.add_row(
            category,
            f"{result['training_positives']}/{result['training_negatives']}",
            f"{result['validation_positives']}/{result['validation_negatives']}",
            f"{result['precision']:.3f}",
            f"{result['recall']:.3f}",
        )
    console.print(table)
    for category, why in report["left_out"].items():
        console.print(f"left out {category}: {why}")
    console.print(f"model written to {path}")


@moderation_app.command()
def rescan(
    since: Annotated[
        str, typer.Option(help="how far back: 24h, 7d, or a date or time (2026-11-01, UTC)")
    ],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    json_file: Annotated[
        str | None, typer.Option("--json", help="write the counts as JSON here; - for stdout")
    ] = None,
) -> None:
    """Re-check published posts with the lexicon and hash bank as they are now: whatever now
    matches is queued for review (posts stay up until a reviewer decides)."""
    from townhall.app import running_services
    from townhall.services.rescan import Rescanned

    settings = settings_from(config, data_dir=data_dir)
    since_ms = _since_ms(since, time.time())

    async def run() -> Rescanned:
        async with running_services(settings) as services:
            begun = await services.rescan.begin(None, since_ms)
            with Progress(transient=True, console=Console(stderr=True)) as progress:
                task = progress.add_task("rescanning posts", total=begun.total)
                return await services.rescan.run(
                    begun, on_progress=lambda n: progress.advance(task, n)
                )

    try:
        done = asyncio.run(run())
    except DomainError as error:  # one runs already
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error
    counts = {
        "since": iso_utc(since_ms),
        "scanned": done.scanned,
        "decisions": done.decisions,
        "queued": done.queued,
    }
    if json_file == "-":
        typer.echo(orjson.dumps(counts).decode())
        return
    if json_file is not None:
        Path(json_file).write_bytes(orjson.dumps(counts, option=orjson.OPT_INDENT_2) + b"\n")
    typer.echo(
        f"rescanned {counts['scanned']} post(s) since {counts['since']}: "
        f"{counts['queued']} wait for review"
    )


_RELATIVE = re.compile(r"^(\d{1,5})([hd])$")


def _since_ms(text: str, now: float) -> int:
    relative = _RELATIVE.match(text)
    if relative is not None:
        hours = int(relative[1]) * (24 if relative[2] == "d" else 1)
        return int((now - hours * 3600) * 1000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            "use 24h, 7d, or an ISO date or time such as 2026-11-01", param_hint="--since"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


image_hashes_app = typer.Typer(
    help="The image hash bank: hash lists in Meta's HMA / ThreatExchange formats.",
    no_args_is_help=True,
)
moderation_app.add_typer(image_hashes_app, name="image-hashes")


@image_hashes_app.command("import")
def import_image_hashes(
    file: Annotated[
        Path,
        typer.Argument(
            help="the CSV of `threatexchange dataset -P --csv`, or `pdq <hash>` a line",
            exists=True,
            dir_okay=False,
        ),
    ],
    list_name: Annotated[
        str, typer.Option("--list", help="the list's name, kept with each of its hashes")
    ],
    category_map: Annotated[
        list[str] | None,
        typer.Option(
            "--category-map",
            help="label=category: a tag (or the list's name) mapped to one of the pack's "
            "categories; repeat it. A label that is a category of the pack maps to itself",
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Bank a hash list: every line is checked first, and a list with a problem banks nothing.
    Running servers take its hashes in within seconds (lexicon_reload_interval_seconds)."""
    from townhall.app import running_services
    from townhall.services.image_bank import Imported

    settings = settings_from(config, data_dir=data_dir)

    def lines() -> Iterator[str]:
        with file.open(encoding="utf-8", newline="") as opened:
            yield from opened

    async def run() -> Imported:
        async with running_services(settings) as services:
            images = services.images
            mapping = images.category_map(category_map or [])
            with Progress(transient=True, console=Console(stderr=True)) as progress:
                task = progress.add_task("checking and banking", total=None)

                def advance(written: int, total: int) -> None:
                    progress.update(task, total=total, advance=written)

                return await images.import_list(
                    None, lines, list_name=list_name, category_map=mapping, on_progress=advance
                )

    try:
        imported = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {file}: {error.message}", err=True)
        raise typer.Exit(1) from error
    except UnicodeDecodeError as error:
        typer.echo(f"error: {file}: the list is not UTF-8 text; nothing was banked", err=True)
        raise typer.Exit(1) from error
    held = f", {imported.held} held rather than blocked" if imported.held else ""
    typer.echo(
        f"banked {imported.banked} hash(es) of list {imported.list_name!r} "
        f"({imported.list_format}){held}"
    )
    for category, count in imported.by_category.items():
        typer.echo(f"  {category}: {count}")
    for reason, count in imported.skipped.items():
        typer.echo(f"  skipped, {reason}: {count}")


@image_hashes_app.command("export")
def export_image_hashes(
    output: Annotated[Path | None, typer.Argument(help="the file to write; stdout without")] = None,
    list_name: Annotated[
        str, typer.Option("--list", help="the name the list gives itself (the CSV's collab)")
    ] = "townhall",
    plain: Annotated[
        bool, typer.Option("--plain", help="`pdq <hash>` a line, without categories")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The bank as a hash list: the CSV `threatexchange dataset -P --csv` prints, each hash
    with its opinion and tagged with its category (what `import` reads back as it was)."""
    from townhall.app import running_services
    from townhall.domain.hash_lists import HashListFormat

    settings = settings_from(config, data_dir=data_dir)
    list_format = HashListFormat.PLAIN if plain else HashListFormat.CSV

    async def run() -> None:
        async with running_services(settings) as services:
            lines = await services.images.export(None, list_name=list_name, list_format=list_format)
            with contextlib.ExitStack() as stack:
                out = (
                    sys.stdout
                    if output is None
                    else stack.enter_context(output.open("w", encoding="utf-8", newline=""))
                )
                async for text in lines:
                    out.write(text)

    try:
        asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error
