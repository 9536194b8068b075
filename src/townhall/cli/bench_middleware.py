"""`townhall bench middleware`: what the per-request middleware costs.

The same routes on two apps that `build_app` makes in this process: one as it is served, one
without the edge (api/edge.py: the request id, the security headers, the metrics and the access
log, written as JSON as `serve` writes it, here to /dev/null). Each app runs on a
throwaway data dir of its own, and requests reach it over ASGI, without a network, so that the
middleware's share is not lost in the sockets'. Rounds alternate between the apps, so that a
machine's slower moment weighs on both; the figure is the ratio of the medians of requests/s.

It lives in the CLI because it builds the whole app (`townhall.app`), which the bench package,
a layer below the API, may not import."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from townhall import logs
from townhall.api.edge import Edge
from townhall.app import build_app
from townhall.bench.common import PASSWORD, report
from townhall.bench.identities import synthetic_identity
from townhall.config import Settings

ROUTES = {"healthz": "/healthz", "me": "/api/v1/me"}  # the cheapest open and signed-in GETs


@dataclass(frozen=True)
class BenchOptions:
    requests: int  # per route, app and round
    rounds: int
    concurrency: int


def without_per_request_middleware(app: FastAPI) -> FastAPI:
    """The app as built, less the edge (Starlette builds its middleware stack at the first
    request, from this list)."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not Edge]
    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (its lifespan) and a client signed in to it as a new user."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        agreement = (await client.get("/api/v1/agreement")).raise_for_status().json()
        account = {
            "handle": "bench",
            "password": PASSWORD,
            "display_name": "bench",
            "identity": synthetic_identity(1),
            "agreement_version": agreement["version"],
        }
        (await client.post("/api/v1/accounts", json=account)).raise_for_status()
        session = await client.post(
            "/api/v1/sessions", json={"handle": "bench", "password": PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {session.raise_for_status().json()['token']}"
        yield client


async def requests_per_s(client: httpx.AsyncClient, path: str, options: BenchOptions) -> float:
    each = max(1, options.requests // options.concurrency)

    async def one_after_another() -> None:
        for _ in range(each):
            (await client.get(path)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(one_after_another() for _ in range(options.concurrency)))
    return each * options.concurrency / (time.perf_counter() - started)


async def measure(options: BenchOptions) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as full_dir,
        tempfile.TemporaryDirectory() as bare_dir,
    ):
        apps = {
            "full": build_app(settings_for(Path(full_dir))),
            "bare": without_per_request_middleware(build_app(settings_for(Path(bare_dir)))),
        }
        async with serving(apps["full"]) as full, serving(apps["bare"]) as bare:
            clients = [("full", full), ("bare", bare)]
            rates: dict[str, dict[str, list[float]]] = {r: {"full": [], "bare": []} for r in ROUTES}
            for round_number in range(options.rounds):
                # Each app goes first every other round: neither always meets a warmer machine.
                ordered = clients if round_number % 2 == 0 else clients[::-1]
                for route, path in ROUTES.items():
                    for name, client in ordered:
                        rates[route][name].append(await requests_per_s(client, path, options))
    results: dict[str, Any] = {"options": asdict(options)}
    for route, by_app in rates.items():
        full_rate, bare_rate = (statistics.median(by_app[name]) for name in ("full", "bare"))
        results[route] = {
            "path": ROUTES[route],
            "full_per_s": round(full_rate),
            "without_middleware_per_s": round(bare_rate),
            "full_over_without": round(full_rate / bare_rate, 3),
        }
    return results


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, password_hash_profile="cheapest", classifiers=False)


def run(options: BenchOptions, json_file: Path | None) -> dict[str, Any]:
    with Path(os.devnull).open("w") as devnull:
        with contextlib.redirect_stderr(devnull):
            logs.configure("info", "json")  # the access log's handler writes here, as serve's
        results = asyncio.run(measure(options))
    report(results, json_file)
    return results
