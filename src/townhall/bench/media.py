"""`townhall bench media`: image uploads over the API, the PDQ hash an upload costs, and a lookup
in an image hash bank of 1,000,000 hashes.

Uploads: a throwaway server pinned to one core (the load generator on the others), one bench
user uploading photo-like JPEGs of about 2 MB (2560 x 1920 at quality 90, bench/photos.py) a few
at a time; each upload is a distinct file (a variant of a few generated photos, so that making
them does not take the run), made before the clock starts. An upload is received whole, decoded,
turned upright, re-encoded without its metadata, thumbnailed and hashed (services/imaging.py), so
its time is mostly the server's CPU. PDQ and the whole keep_image are also timed here in process,
one image at a time. The bank lookup is bench/pdq.py's measure_index at the pack's distance.

Search over stored messages is the search bench's (issue 19 names it with these): not here.
"""

from __future__ import annotations

import asyncio
import io
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from PIL import Image
from rich.table import Table

from townhall.bench.common import console, percentile, register_users, report
from townhall.bench.pdq import measure_index
from townhall.bench.photos import BENCH_HEIGHT, BENCH_WIDTH, photo
from townhall.bench.server import ServerUsage, split_cores, start_server
from townhall.domain.limits import Limits
from townhall.domain.media import FORMATS
from townhall.packs import load_pack
from townhall.services.imaging import keep_image, pdq_of

SEED = 20_140_807
VARIANT_PATCH = 16  # pixels square, of noise, that makes each upload a file of its own


@dataclass(frozen=True)
class MediaBenchOptions:
    uploads: int = 100
    concurrency: int = 4  # uploads in flight at once
    photos: int = 4  # distinct photos generated; the uploads are variants of them
    width: int = BENCH_WIDTH
    height: int = BENCH_HEIGHT
    quality: int = 90
    pdq_images: int = 20  # hashed in process, one at a time
    bank_size: int = 1_000_000
    lookups: int = 1_000
    seed: int = SEED


def latency_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def variants(options: MediaBenchOptions) -> list[bytes]:
    """The uploads' files: JPEGs of the photos, each with a patch of noise of its own."""
    rng = np.random.default_rng(options.seed)
    bases = []
    with console.status(f"making {options.photos} photos") as status:
        for number in range(options.photos):
            status.update(f"making photos: {number + 1}/{options.photos}")
            bases.append(np.asarray(photo(options.seed + number, options.width, options.height)))
        files = []
        for number in range(options.uploads):
            status.update(f"encoding uploads: {number + 1}/{options.uploads}")
            pixels = bases[number % len(bases)].copy()
            y = int(rng.integers(0, max(1, options.height - VARIANT_PATCH)))
            x = int(rng.integers(0, max(1, options.width - VARIANT_PATCH)))
            patch = pixels[y : y + VARIANT_PATCH, x : x + VARIANT_PATCH]
            patch[...] = rng.integers(0, 256, patch.shape, dtype=np.uint8)
            out = io.BytesIO()
            Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=options.quality)
            files.append(out.getvalue())
    return files


async def measure_uploads(options: MediaBenchOptions, files: list[bytes]) -> dict[str, Any]:
    server_cores, client_cores = split_cores()
    if client_cores:
        os.sched_setaffinity(0, client_cores)
    # One account uploads them all; no text is sent, so no classifier is wanted.
    env = {"TOWNHALL_LIMITS__UPLOADS_PER_USER": "1000000/second", "TOWNHALL_CLASSIFIERS": "false"}
    with tempfile.TemporaryDirectory(prefix="townhall-bench-media-") as work:
        server = start_server(server_cores, data_dir=Path(work), env=env)
        try:
            (user,) = await register_users(server.url, "uploader", 1, iter([1]))
            usage = ServerUsage([psutil.Process(server.process.pid)])
            headers = {"Authorization": f"Bearer {user.token}"}
            limits = httpx.Limits(max_connections=options.concurrency)
            async with httpx.AsyncClient(
                base_url=server.url, headers=headers, limits=limits, timeout=120
            ) as client:
                # One upload first: the server's first decode loads its codecs.
                await _upload(client, files[0])
                gate = asyncio.Semaphore(options.concurrency)
                times: list[float] = []

                async def one(data: bytes) -> None:
                    async with gate:
                        times.append(await _upload(client, data))

                usage.begin()
                started = time.perf_counter()
                with console.status(f"uploading {len(files)} photos") as status:
                    task = asyncio.gather(*(one(data) for data in files))
                    while not task.done():
                        await asyncio.wait([task], timeout=0.5)
                        status.update(f"uploading photos: {len(times)}/{len(files)}")
                    task.result()
                wall = time.perf_counter() - started
                figures = usage.report(len(files))
        finally:
            server.stop()
    return {
        "uploads": len(files),
        "concurrency": options.concurrency,
        "mean_mb": round(sum(map(len, files)) / len(files) / 1e6, 2),
        "pixels": f"{options.width}x{options.height}",
        "uploads_per_s": round(len(files) / wall, 2),
        **latency_ms(times),
        "server_cpu_ms_per_upload": round(figures["cpu_seconds"]["server"] / len(files) * 1000),
        "server_rss_mb": figures["server_rss_mb"],
        "server_cores": sorted(server_cores) if server_cores else None,
    }


async def _upload(client: httpx.AsyncClient, data: bytes) -> float:
    started = time.perf_counter()
    answer = await client.post("/api/v1/media", content=data)
    if answer.status_code != 201:
        raise RuntimeError(f"an upload was refused: {answer.status_code} {answer.text[:200]}")
    return time.perf_counter() - started


def measure_pdq(options: MediaBenchOptions, files: list[bytes]) -> dict[str, Any]:
    """PDQ of each image as the server takes it (a copy at most 512 px on its longest side), and
    the whole of what the server does with an upload's bytes (keep_image), one at a time."""
    pdq_times, kept_times = [], []
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="townhall-bench-pdq-") as work:
        spooled = Path(work) / "upload.jpg"
        for data in files[: options.pdq_images]:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                started = time.perf_counter()
                pdq_of(image)
                pdq_times.append(time.perf_counter() - started)
            spooled.write_bytes(data)
            started = time.perf_counter()
            keep_image(spooled, FORMATS["jpeg"], limits)
            kept_times.append(time.perf_counter() - started)
    return {
        "images": len(pdq_times),
        "pdq": latency_ms(pdq_times),
        "keep_image": latency_ms(kept_times),
    }


def run(options: MediaBenchOptions, json_file: Path | None) -> dict[str, Any]:
    run_started = time.perf_counter()
    rules = load_pack("cn-2014").moderation.images
    files = variants(options)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": asdict(options),
    }
    console.print("uploads")
    results["uploads"] = asyncio.run(measure_uploads(options, files))
    console.print("PDQ in process")
    results["pdq_in_process"] = measure_pdq(options, files)
    console.print(f"bank lookups, {options.bank_size:,} hashes")
    with console.status(f"building a bank of {options.bank_size:,} hashes and looking up"):
        results["bank"] = measure_index(options.bank_size, options.lookups, rules.max_distance)
    results["machine"]["load_1m"] = round(os.getloadavg()[0], 2)
    results["run_seconds"] = round(time.perf_counter() - run_started, 1)
    print_table(results)
    report(results, json_file)
    return results


def print_table(results: dict[str, Any]) -> None:
    uploads, pdq, bank = results["uploads"], results["pdq_in_process"], results["bank"]
    table = Table(title="townhall bench media")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_row(
        f"uploads of {uploads['mean_mb']} MB JPEGs ({uploads['pixels']}), "
        f"{uploads['concurrency']} at a time",
        f"{uploads['uploads_per_s']}/s",
    )
    table.add_row("upload latency (p50/p99 ms)", f"{uploads['p50_ms']} / {uploads['p99_ms']}")
    table.add_row("server CPU per upload (ms)", str(uploads["server_cpu_ms_per_upload"]))
    table.add_row("PDQ per image (p50/p99 ms)", "{p50_ms} / {p99_ms}".format(**pdq["pdq"]))
    table.add_row(
        "decode, re-encode, thumbnail and PDQ (p50/p99 ms)",
        "{p50_ms} / {p99_ms}".format(**pdq["keep_image"]),
    )
    table.add_row(
        f"bank lookup, {bank['count']:,} hashes at {bank['max_distance']} bits, miss (p50/p99 µs)",
        "{p50_us} / {p99_us}".format(**bank["misses"]),
    )
    table.add_row("bank lookup, hit (p50/p99 µs)", "{p50_us} / {p99_us}".format(**bank["hits"]))
    table.add_row(
        "bank build (s), index arrays (MB)",
        f"{bank['build_s']}, {bank['memory']['index_arrays_mb']}",
    )
    console.print(table)
