"""`townhall bench …`: load benchmarks that report JSON."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

BENCH_PACKAGES = ("picows", "psutil")


def _needs_bench_extra() -> None:
    """The load generator's packages are an extra: a server install does without them."""
    if any(find_spec(package) is None for package in BENCH_PACKAGES):
        typer.echo(
            "error: benchmarks need the bench extra: pip install 'townhall[bench]'", err=True
        )
        raise typer.Exit(1)


bench_app = typer.Typer(
    help="Benchmarks; results as JSON.", no_args_is_help=True, callback=_needs_bench_extra
)


@bench_app.command("messaging")
def messaging(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    url: Annotated[str | None, typer.Option(help="target a running server instead")] = None,
    duration: Annotated[float, typer.Option(help="seconds per measured phase")] = 10.0,
    pairs: Annotated[int, typer.Option(help="direct pairs in scenario (a)")] = 100,
    group_size: Annotated[int, typer.Option(help="members in scenario (b)")] = 200,
    idle_sockets: Annotated[int, typer.Option(help="idle sockets in scenario (c)")] = 5000,
    rate: Annotated[float, typer.Option(help="messages/s of the fixed-rate phase")] = 5000.0,
    server_pid: Annotated[
        list[int] | None,
        typer.Option(
            help="with --url: a server process to measure (repeat it); its CPU counts the "
            "processes under it (a --workers supervisor's workers), its RSS only its own"
        ),
    ] = None,
    postgresql_database: Annotated[
        str | None,
        typer.Option(help="with --url: count the CPU of the PostgreSQL backends of this database"),
    ] = None,
    redis_pid: Annotated[
        int | None, typer.Option(help="with --url: count the CPU of this redis-server")
    ] = None,
) -> None:
    """Messages/s, delivery latency, server RSS and CPU (and, asked, PostgreSQL's and Redis's
    CPU per 1,000 messages) over the public WebSocket API."""
    from townhall.bench.messaging import BenchOptions, run

    run(
        BenchOptions(
            url=url,
            duration=duration,
            pairs=pairs,
            group_size=group_size,
            idle_sockets=idle_sockets,
            rate=rate,
            server_pids=tuple(server_pid or ()),
            postgresql_database=postgresql_database,
            redis_pid=redis_pid,
        ),
        json_file,
    )


@bench_app.command("broadcast")
def broadcast(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    small_subscribers: Annotated[
        int, typer.Option(min=1, help="subscribers of the small account")
    ] = 1_000,
    large_subscribers: Annotated[
        int, typer.Option(min=1, help="subscribers of the large account (bulk-loaded)")
    ] = 1_000_000,
    posts: Annotated[int, typer.Option(min=1, help="posts each account publishes, timed")] = 200,
    online: Annotated[
        int, typer.Option(min=1, help="online subscribers' sockets the large account pushes to")
    ] = 10_000,
    push_posts: Annotated[int, typer.Option(min=1, help="posts pushed to the sockets")] = 5,
    push_interval: Annotated[
        float, typer.Option(min=0, help="seconds between pushed posts, once all have one")
    ] = 1.0,
    followed: Annotated[
        int, typer.Option(min=1, help="accounts the timeline reader follows")
    ] = 200,
    posts_per_followed: Annotated[
        int, typer.Option(min=1, help="posts of each followed account (bulk-loaded)")
    ] = 20,
    timeline_reads: Annotated[int, typer.Option(min=1, help="timeline pages read")] = 500,
    viewers: Annotated[int, typer.Option(min=1, help="distinct users reading one post")] = 10_000,
    view_concurrency: Annotated[int, typer.Option(min=1, help="reads in flight at once")] = 64,
    corrected_readers: Annotated[
        int, typer.Option(min=1, help="readers of the rumour a correction reaches (bulk-loaded)")
    ] = 100_000,
    correction_sockets: Annotated[
        int, typer.Option(min=1, help="of them, online with a socket watching for it")
    ] = 1_000,
) -> None:
    """Publish latency with 1k and 1M subscribers, live push, timeline reads, view ingest, and a
    rumour correction reaching 100k readers."""
    from townhall.bench.broadcast import BroadcastOptions, run

    run(
        BroadcastOptions(
            small_subscribers=small_subscribers,
            large_subscribers=large_subscribers,
            posts=posts,
            online=online,
            push_posts=push_posts,
            push_interval=push_interval,
            followed=followed,
            posts_per_followed=posts_per_followed,
            timeline_reads=timeline_reads,
            viewers=viewers,
            view_concurrency=view_concurrency,
            corrected_readers=corrected_readers,
            correction_sockets=correction_sockets,
        ),
        json_file,
    )


@bench_app.command("moderation")
def moderation(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    terms: Annotated[int, typer.Option(help="lexicon terms generated")] = 100_000,
    messages: Annotated[int, typer.Option(help="clean messages scanned")] = 20_000,
    evasions: Annotated[int, typer.Option(help="evasive messages per kind")] = 1_000,
    seed: Annotated[int, typer.Option(help="seed of the generated lexicon and corpora")] = 20140807,
) -> None:
    """Lexicon scan speed and latency with normalization, evasion detection, false positives."""
    from townhall.bench.moderation import BenchOptions, run

    run(BenchOptions(terms=terms, messages=messages, evasions=evasions, seed=seed), json_file)


@bench_app.command("media")
def media(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    uploads: Annotated[int, typer.Option(min=1, help="photos uploaded, timed")] = 100,
    concurrency: Annotated[int, typer.Option(min=1, help="uploads in flight at once")] = 4,
    photos: Annotated[
        int, typer.Option(min=1, help="distinct photos made; the uploads are variants of them")
    ] = 4,
    width: Annotated[int, typer.Option(min=64, help="the photos' width in pixels")] = 2560,
    height: Annotated[int, typer.Option(min=64, help="the photos' height in pixels")] = 1920,
    pdq_images: Annotated[int, typer.Option(min=1, help="images hashed in process")] = 20,
    bank_size: Annotated[
        int, typer.Option(min=1000, help="hashes in the image hash bank looked up")
    ] = 1_000_000,
    lookups: Annotated[
        int, typer.Option(min=10, help="bank lookups that hit, and that miss")
    ] = 1000,
) -> None:
    """Uploads/s and latency of ~2 MB photo JPEGs over the API, PDQ time per image, and lookups
    in an image hash bank of a million hashes."""
    from townhall.bench.media import MediaBenchOptions, run

    options = MediaBenchOptions(
        uploads=uploads,
        concurrency=concurrency,
        photos=photos,
        width=width,
        height=height,
        pdq_images=pdq_images,
        bank_size=bank_size,
        lookups=lookups,
    )
    try:
        run(options, json_file)
    except RuntimeError as problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1) from None


@bench_app.command("search")
def search(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    messages: Annotated[int, typer.Option(min=1, help="messages bulk-loaded")] = 1_000_000,
    conversations: Annotated[int, typer.Option(min=1, help="conversations they are in")] = 20_000,
    users: Annotated[int, typer.Option(min=50, help="accounts bulk-loaded as members")] = 20_000,
    searcher_conversations: Annotated[
        int, typer.Option(min=1, help="conversations the searcher is a member of")
    ] = 200,
    queries: Annotated[int, typer.Option(min=1, help="timed searches of each kind")] = 200,
    seed: Annotated[int, typer.Option(help="seed of the generated conversations and text")] = 19,
) -> None:
    """p50/p99 of searching one's own messages (Chinese of 1, 2 and 3 characters, English
    words; common and rare) among bulk-loaded messages, through the HTTP route."""
    from townhall.bench.search import SearchBenchOptions, run

    run(
        SearchBenchOptions(
            messages=messages,
            conversations=conversations,
            users=users,
            searcher_conversations=searcher_conversations,
            queries=queries,
            seed=seed,
        ),
        json_file,
    )


@bench_app.command("middleware")
def middleware(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    requests: Annotated[int, typer.Option(min=1, help="requests per route, app and round")] = 5000,
    rounds: Annotated[int, typer.Option(min=1, help="rounds, alternating the apps")] = 5,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 16,
) -> None:
    """Requests/s of /healthz and /api/v1/me with and without the per-request middleware."""
    from townhall.cli.bench_middleware import BenchOptions, run

    run(BenchOptions(requests=requests, rounds=rounds, concurrency=concurrency), json_file)


@bench_app.command("http")
def http(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    requests: Annotated[int, typer.Option(min=1, help="requests per route and round")] = 3000,
    rounds: Annotated[int, typer.Option(min=1, help="rounds over every route")] = 3,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 8,
) -> None:
    """Server CPU per request of /healthz, /me, an empty /sync, a send, a history page and a
    timeline page, beside a bare ASGI app on the same stack."""
    from townhall.bench.http import HttpOptions, run

    run(HttpOptions(requests=requests, rounds=rounds, concurrency=concurrency), json_file)


@bench_app.command("websocket")
def websocket(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    pairs: Annotated[
        int, typer.Option(min=1, help="direct pairs, each a sender and a recipient")
    ] = 20,
    window: Annotated[int, typer.Option(min=1, help="messages in flight per sender")] = 8,
    duration: Annotated[float, typer.Option(min=0.5, help="seconds per phase")] = 5.0,
    rounds: Annotated[int, typer.Option(min=1, help="rounds over both servers")] = 3,
) -> None:
    """Server CPU per direct message over the WebSocket and its delivery latency, beside a bare
    relay on the same stack."""
    from townhall.bench.websocket import WebSocketOptions, run

    run(WebSocketOptions(pairs=pairs, window=window, duration=duration, rounds=rounds), json_file)


@bench_app.command("registration")
def registration(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    users: Annotated[int, typer.Option(min=1, help="users registered in each phase")] = 100,
    concurrency: Annotated[
        int, typer.Option(min=1, help="clients registering at once in the second phase")
    ] = 20,
    hashes_at_once: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="the server's password_hashes_at_once (unset: its own)"),
    ] = None,
) -> None:
    """Registrations/s and the server's peak RSS with the production password profile, one
    client at a time and then many at once."""
    from townhall.bench.registration import RegistrationOptions, run

    options = RegistrationOptions(
        users=users, concurrency=concurrency, hashes_at_once=hashes_at_once
    )
    run(options, json_file)


@bench_app.command("web")
def web(
    json_file: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    messages: Annotated[int, typer.Option(min=1, help="messages in the long chat")] = 10_000,
    loads: Annotated[int, typer.Option(min=1, help="first-screen loads per CPU setting")] = 5,
    slowdown: Annotated[
        float, typer.Option(min=1, help="CPU throttling of the loaded setting")
    ] = 4.0,
    cases: Annotated[
        int, typer.Option(min=1, help="open cases in the staff console's review queue")
    ] = 10_000,
) -> None:
    """The web app in chromium: bundle size, first screen interactive, a long chat's opening
    and scrolling (frame times, rows drawn); the staff console's first row over a long review
    queue. Needs the dev extra (Playwright) and `make browser`."""
    if find_spec("playwright") is None:
        typer.echo("error: bench web needs Playwright: pip install 'townhall[dev]'", err=True)
        raise typer.Exit(1)
    from townhall.bench.common import report
    from townhall.bench.web import WebBenchOptions, run
    from townhall.web.pages import APP

    try:
        options = WebBenchOptions(
            APP, messages=messages, loads=loads, slowdown=slowdown, cases=cases
        )
        results = run(options)
    except RuntimeError as problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1) from None
    report(results, json_file)
