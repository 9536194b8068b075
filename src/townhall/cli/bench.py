"""`townhall bench …`: load benchmarks that report JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(help="Benchmarks; results as JSON.", no_args_is_help=True)


@bench_app.command("messaging")
def messaging(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    url: Annotated[str | None, typer.Option(help="target a running server instead")] = None,
    duration: Annotated[float, typer.Option(help="seconds per measured phase")] = 10.0,
    pairs: Annotated[int, typer.Option(help="direct pairs in scenario (a)")] = 100,
    group_size: Annotated[int, typer.Option(help="members in scenario (b)")] = 200,
    idle_sockets: Annotated[int, typer.Option(help="idle sockets in scenario (c)")] = 5000,
) -> None:
    """Messages/s, delivery latency, server RSS and CPU over the public WebSocket API."""
    from townhall.bench.messaging import BenchOptions, run

    run(
        BenchOptions(
            url=url,
            duration=duration,
            pairs=pairs,
            group_size=group_size,
            idle_sockets=idle_sockets,
        ),
        json_file,
    )
