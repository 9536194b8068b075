"""`townhall lexicon import | export | test`: the operators' own lexicon, on the data dir.

The lexicon's modules are imported by the commands that use them: the pinyin dictionaries
they load are half of `townhall migrate`'s start-up (and every command's `--help`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.progress import Progress

from townhall.cli.settings import ConfigOption, DataDirOption, settings_from
from townhall.domain.errors import DomainError

lexicon_app = typer.Typer(help="The moderation lexicon.", no_args_is_help=True)


@lexicon_app.command("import")
def import_terms(
    file: Annotated[Path, typer.Argument(help="term,category,severity per line", exists=True)],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a file of terms: every line is checked first, and a bad file adds nothing.
    A running server picks the terms up within seconds."""
    from townhall.app import running_services
    from townhall.domain.lexicon import LexiconFileError

    settings = settings_from(config, data_dir=data_dir)

    async def run() -> int:
        async with running_services(settings) as services:
            check = services.moderation
            try:
                terms = check.parse(file.read_text(encoding="utf-8"))
            except LexiconFileError as error:
                typer.echo(f"error: {file}: {error}", err=True)
                raise typer.Exit(1) from error
            with Progress(transient=True) as progress:
                task = progress.add_task("importing", total=len(terms))
                await check.add_terms(
                    terms, actor=None, on_progress=lambda n: progress.advance(task, n)
                )
            return len(terms)

    count = asyncio.run(run())
    typer.echo(f"imported {count} term(s) from {file}")


@lexicon_app.command("export")
def export_terms(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="instead of stdout")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The operators' terms in the import format (the pack's own terms are in the pack)."""
    from townhall.app import running_services
    from townhall.domain.lexicon import format_lexicon

    settings = settings_from(config, data_dir=data_dir)

    async def run() -> str:
        async with running_services(settings) as services:
            return format_lexicon(services.moderation.export())

    text = asyncio.run(run())
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@lexicon_app.command("test")
def test_text(
    text: Annotated[str, typer.Argument(help="the text to check")],
    surface: Annotated[str, typer.Option(help="direct, group, public_post or name")] = "group",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """What the check decides for a text, and which terms matched where."""
    from townhall.api.models.moderation import CheckedText
    from townhall.app import running_services
    from townhall.services.moderation import TriedText

    settings = settings_from(config, data_dir=data_dir)

    async def run() -> TriedText:
        async with running_services(settings) as services:
            return services.moderation.trial(surface, text)

    try:
        verdict = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {error.message} ({error.code})", err=True)
        raise typer.Exit(1) from error
    shown = CheckedText.model_validate(verdict).model_dump(mode="json")
    typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
