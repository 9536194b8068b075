"""`townhall bench web`: the web app in Debian's chromium, driven by Playwright.

Measures what a person feels: the bundle's size as sent (gzipped), how soon the first screen
is interactive (the log-in form ready to type in, timed by the page's own clock from the start
of navigation), with the CPU as it is and slowed down as on a mid-range phone; how soon a chat
with many messages opens; and whether it scrolls without jank: the frame times while the whole
history is scrolled through, and how many rows the list draws at most. And the staff console
with a review queue of many cases: how soon its first row shows, and how soon a filter answers.
"""

from __future__ import annotations

import asyncio
import gzip
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townhall.bench.broadcast import REVIEWER_HANDLE, REVIEWER_PASSWORD, create_reviewer
from townhall.bench.common import PASSWORD, BenchUser, console, percentile, register_users
from townhall.bench.server import start_server
from townhall.client import TownhallClient

CHROMIUM = Path("/usr/bin/chromium")
LONG_FRAME_MS = 50  # a frame this long is a visible stutter
SEND_WINDOW = 200  # sends in flight on the seeding socket


@dataclass
class WebBenchOptions:
    app: Path  # the built app the server serves (its assets are weighed)
    messages: int = 10_000
    loads: int = 5  # first-screen loads per CPU setting
    slowdown: float = 4.0  # CPU throttling of the "loaded" setting (DevTools' mid-tier phone)
    cases: int = 10_000  # open review cases in the console's queue


def bundle_sizes(app: Path) -> dict[str, int]:
    """Bytes of the built app's JavaScript and CSS, raw and gzipped as a server would send them."""
    assets = sorted((app / "assets").glob("*.*"))
    if not assets:
        raise RuntimeError("the web app is not built: make web")
    sizes = {"js_bytes": 0, "js_gzip_bytes": 0, "css_bytes": 0, "css_gzip_bytes": 0}
    for asset in assets:
        kind = asset.suffix.removeprefix(".")
        if kind in ("js", "css"):
            data = asset.read_bytes()
            sizes[f"{kind}_bytes"] += len(data)
            sizes[f"{kind}_gzip_bytes"] += len(gzip.compress(data, compresslevel=9))
    return sizes


def plain(number: int) -> str:
    return f"message {number}: {'lorem ipsum ' * (number % 7)}"


def flagged(number: int) -> str:
    """A message the pack's check flags for review (a gambling term), each its own case."""
    return f"今晚百家乐走起 {number}"


async def seed_chat(
    url: str, sender: BenchUser, reader: BenchUser, messages: int, text: Any = plain
) -> None:
    """A direct chat of `messages` messages, `text(n)` each, sent over one socket with a window
    in flight."""
    async with TownhallClient(url, sender.token) as client:
        await client.request_friend(reader.user_id, "bench")
        async with TownhallClient(url, reader.token) as other:
            await other.answer_friend(sender.user_id)
        chat = (await client.open_direct(reader.user_id))["id"]
        async with client.websocket() as socket:
            sent = acked = 0
            with console.status("seeding the chat") as status:
                while acked < messages:
                    while sent < messages and sent - acked < SEND_WINDOW:
                        await socket.send_message(chat, text(sent))
                        sent += 1
                    await socket.receive_until("ack")
                    acked += 1
                    if acked % 500 == 0:
                        status.update(f"seeding the chat: {acked}/{messages}")


async def first_screen_ms(context: Any, url: str, slowdown: float) -> float:
    """Navigation start to the log-in form ready for typing, by the page's clock."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
    await page.goto(f"{url}/app/", wait_until="commit")
    await page.locator("input[name=handle]").wait_for(state="visible")
    ready = await page.evaluate("() => performance.now()")
    await page.close()
    return float(ready)


async def log_in(page: Any, handle: str) -> None:
    await page.locator("input[name=handle]").fill(handle)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form button[type=submit]").click()
    await page.locator(".connection[data-state=online]").wait_for()


# Scrolls the history from its top to its bottom a step a frame, noting each frame's length
# and the most rows drawn at once.
SCROLL_THROUGH = """async (step) => {
  const list = document.querySelector('.messages');
  list.scrollTop = 0;
  await new Promise((done) => requestAnimationFrame(done));
  const frames = [];
  let rows = 0;
  let last = performance.now();
  while (list.scrollTop + list.clientHeight < list.scrollHeight - 1) {
    list.scrollTop += step;
    await new Promise((done) => requestAnimationFrame(done));
    const now = performance.now();
    frames.push(now - last);
    last = now;
    rows = Math.max(rows, list.querySelectorAll('.row').length);
  }
  return { frames, rows };
}"""


async def load_all_history(page: Any, messages: int) -> None:
    """Scroll to the top until the first message is loaded."""
    with console.status("loading the history") as status:
        while not await page.locator(".messages .text", has_text="message 0:").count():
            await page.locator(".messages").evaluate("element => element.scrollTo(0, 0)")
            await page.wait_for_timeout(50)
            drawn = await page.evaluate("() => document.querySelector('.messages ol').offsetHeight")
            status.update(f"loading the history: {drawn} px of about {messages} messages")


async def console_queue(context: Any, url: str) -> dict[str, float]:
    """The console's content desk over a long queue, by the page's clock: from signing in to its
    first row, and from choosing a source (flagged) to that source's rows."""
    page = await context.new_page()
    await page.goto(f"{url}/console/")
    await page.locator("input[name=handle]").fill(REVIEWER_HANDLE)
    await page.locator("input[name=password]").fill(REVIEWER_PASSWORD)
    started = await page.evaluate("() => performance.now()")
    await page.locator("form button[type=submit]").click()
    await page.locator("tr[data-case]").first.wait_for()
    first_row = await page.evaluate("() => performance.now()") - started
    rows = page.locator("tr[data-case]")
    shown = await rows.count()
    await page.locator("select[name=source]").select_option("report")  # the source: none reported
    await page.locator("tr[data-case]").first.wait_for(state="detached")
    await page.locator("select[name=source]").select_option("flag")
    filtered_from = await page.evaluate("() => performance.now()")
    await page.locator("tr[data-case]").first.wait_for()
    filtered = await page.evaluate("() => performance.now()") - filtered_from
    await page.close()
    return {
        "first_row_ms": round(first_row, 1),
        "rows_drawn": shown,
        "filter_to_rows_ms": round(filtered, 1),
    }


async def measure(options: WebBenchOptions, url: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    sender, reader, author, addressee = await register_users(
        url, "webbench", 4, iter(range(1, 10**9))
    )
    await seed_chat(url, sender, reader, options.messages)
    await seed_chat(url, author, addressee, options.cases, flagged)
    async with TownhallClient(url, reader.token) as client:
        handle = (await client.me())["handle"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        screens: dict[str, Any] = {}
        for name, slowdown in (
            ("cpu_as_is", 1.0),
            (f"cpu_{options.slowdown:g}x_slower", options.slowdown),
        ):
            times = [await first_screen_ms(context, url, slowdown) for _ in range(options.loads)]
            screens[name] = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
            }
        page = await context.new_page()
        await page.goto(f"{url}/app/")
        await log_in(page, handle)
        opened = await page.evaluate("() => performance.now()")
        await page.locator(".conversation").first.click()
        await page.locator(
            ".messages .text", has_text=f"message {options.messages - 1}:"
        ).wait_for()
        chat_open_ms = await page.evaluate("() => performance.now()") - opened
        await load_all_history(page, options.messages)
        scrolled = await page.evaluate(SCROLL_THROUGH, 120)
        queue = await console_queue(context, url)
        await browser.close()
    frames: list[float] = scrolled["frames"]
    return {
        "bundle": bundle_sizes(options.app),
        "first_screen_interactive": screens,
        "chat": {
            "messages": options.messages,
            "open_ms": round(chat_open_ms, 1),
            "scroll_frames": len(frames),
            "frame_ms_p50": round(percentile(frames, 0.5), 1),
            "frame_ms_p95": round(percentile(frames, 0.95), 1),
            "frame_ms_max": round(max(frames), 1),
            f"frames_over_{LONG_FRAME_MS}_ms": sum(1 for frame in frames if frame > LONG_FRAME_MS),
            "most_rows_drawn": scrolled["rows"],
        },
        "console_queue": {"open_cases": options.cases, **queue},
    }


def run(options: WebBenchOptions) -> dict[str, Any]:
    if not CHROMIUM.is_file():
        raise RuntimeError(f"no chromium at {CHROMIUM}: make browser installs Debian's")
    bundle_sizes(options.app)  # fails early when the app is not built
    server = start_server(None)
    try:
        pack = server.data_dir / "bench-pack.toml"
        create_reviewer(server.data_dir, {"TOWNHALL_POLICY_PACK": str(pack)})
        return asyncio.run(measure(options, server.url))
    finally:
        server.stop()
