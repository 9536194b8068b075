"""Images and files in the web app: one person attaches a picture (from the file picker) and drops
a PDF into a chat; the other sees the picture's thumbnail in a box of its shape, opens it in the
viewer and closes it with Escape, and saves the PDF under its name. A reviewer removes the
message with the picture: the copy sent on shows "image removed", live and after logging in
again. An upload the server refuses says why, in the user's language. A chat whose last message
is only pictures says so in the chat list. An operator attaches a picture to a post with no text;
its subscribers see it in their timeline and where they read it, as in a chat."""

from __future__ import annotations

import contextlib
import io
import os
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.conftest import MakeUser, Server, ServerPool, User
from tests.support import case_of, decided_case, report, subscribed_account
from tests.web.conftest import check_screen, signed_in, ui
from tests.web.test_me import open_me

pytestmark = pytest.mark.usefixtures("no_server_errors")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4


def png(width: int, height: int) -> bytes:
    """A picture with something in it: sky, a hill, a sun."""
    image = Image.new("RGB", (width, height), "#7fb8e6")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.7, height * 0.1, width * 0.9, height * 0.1 + width * 0.2), "#f5c542")
    draw.polygon([(0, height), (width * 0.4, height * 0.45), (width, height)], "#2e8b57")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: about three bytes a pixel."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


async def hand_over(page: Page, how: str, name: str, data: bytes, kind: str) -> None:
    """Files as the browser hands them over when one drops them on the chat (`drop`) or pastes
    them into the message box (`paste`)."""
    await page.evaluate(
        """([how, name, bytes, kind]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name, { type: kind }));
          const init = { bubbles: true, cancelable: true };
          if (how === "paste") {
            const box = document.querySelector("#composer-text");
            box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, ...init }));
            return;
          }
          const chat = document.querySelector(".chat");
          for (const type of ["dragenter", "dragover", "drop"]) {
            chat.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, ...init }));
          }
        }""",
        [how, name, list(data), kind],
    )


async def open_chat(page: Page) -> None:
    await page.locator(".conversation").first.click()
    await expect(page.locator("#composer-text")).to_be_visible()


async def loaded(page: Page, selector: str) -> int:
    """The natural width of the image at `selector`, once its blob: URL has loaded."""
    await page.wait_for_function(
        "(selector) => { const img = document.querySelector(selector);"
        " return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0; }",
        arg=selector,
    )
    return int(await page.locator(selector).evaluate("img => img.naturalWidth"))


async def viewed(page: Page) -> int:
    """The natural width of the viewer's image once the whole image replaced the thumbnail the
    viewer shows meanwhile (320 px at most), or the thumbnail's if it stays."""
    viewer = "dialog.viewer img"
    await loaded(page, viewer)
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(
            "(selector) => document.querySelector(selector).naturalWidth > 320",
            arg=viewer,
            timeout=15_000,
        )
    return await loaded(page, viewer)


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_a_picture_and_a_file_are_sent_viewed_saved_and_removed(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    reviewer: User,
    english: bool,
    tmp_path: Path,
) -> None:
    amy, bo = await make_user("amy"), await make_user("bo")
    chat = (await amy.open_direct(bo.id))["id"]
    amys, bos = english, not english
    shot = {True: "en-desktop", False: "zh-CN-phone"}
    amy_page = await signed_in(browser, server, amy, english=amys)
    bo_page = await signed_in(browser, server, bo, english=bos)
    await open_chat(amy_page)
    await open_chat(bo_page)

    # Amy picks a picture; it goes up at once and waits, removable, until she sends it.
    picture = tmp_path / "hills.png"
    picture.write_bytes(png(640, 400))
    await amy_page.locator("input[name=attach]").set_input_files(picture)
    tray = amy_page.get_by_role("list", name=ui(amys, "media.attachments"))
    await expect(tray.locator("li.uploaded img")).to_have_count(1)
    await expect(
        tray.get_by_role("button", name=ui(amys, "media.remove", name="hills.png"))
    ).to_be_visible()
    await amy_page.locator("#composer-text").fill("看看这座山")
    await amy_page.get_by_role("button", name=ui(amys, "chat.send"), exact=True).click()
    await expect(tray).to_have_count(0)
    await expect(amy_page.locator(".message:not(.pending) .thumb img")).to_have_count(1)

    # Bo sees its thumbnail, in a box of the picture's shape, and opens it.
    thumb = bo_page.get_by_role("button", name=ui(bos, "media.open"))
    await expect(thumb).to_have_count(1)
    assert await loaded(bo_page, ".message .thumb img") == 320  # the server's thumbnail
    box = await thumb.bounding_box()
    assert box is not None and (round(box["width"]), round(box["height"])) == (200, 125)
    await expect(bo_page.locator(".message .text")).to_have_text(["看看这座山"])
    await check_screen(bo_page, f"chat-media-{shot[bos]}")
    await thumb.click()
    viewer = bo_page.get_by_role("dialog", name=ui(bos, "media.viewer"))
    await expect(viewer).to_be_visible()
    assert await viewed(bo_page) == 640  # the whole picture
    await check_screen(bo_page, f"viewer-{shot[bos]}")
    await bo_page.keyboard.press("Escape")
    await expect(viewer).to_have_count(0)
    await expect(thumb).to_be_focused()
    await thumb.click()
    await viewer.get_by_role("button", name=ui(bos, "media.close")).click()
    await expect(viewer).to_have_count(0)
    await expect(thumb).to_be_focused()

    # Amy drops a PDF on the chat and sends it without a word; Bo saves it under its name.
    await hand_over(amy_page, "drop", "report.pdf", PDF, "application/pdf")
    await expect(tray.locator("li.uploaded")).to_have_count(1)
    await amy_page.locator("#composer-text").press("Enter")
    await expect(tray).to_have_count(0)
    file_row = bo_page.locator(".message .file")
    await expect(file_row.locator(".name")).to_have_text("report.pdf")
    await expect(file_row.locator(".size")).to_have_text(f"{len(PDF)} B")
    async with bo_page.expect_download() as started:
        await file_row.get_by_role(
            "button", name=ui(bos, "media.download_named", name="report.pdf")
        ).click()
    download = await started.value
    assert download.suggested_filename == "report.pdf"
    assert Path(await download.path()).read_bytes() == PDF

    # Amy sends the picture on again; a reviewer removes the first message, and with it the
    # picture, wherever it went.
    history = (await amy.request("GET", f"/api/v1/conversations/{chat}/messages"))["messages"]
    (first,) = [message for message in history if message.get("text") == "看看这座山"]
    picture_id = first["media"][0]["id"]
    await amy.request(
        "POST",
        f"/api/v1/conversations/{chat}/messages",
        json={"text": "", "client_id": uuid.uuid4().hex, "media_ids": [picture_id]},
    )
    await expect(thumb).to_have_count(2)
    assert (await report(bo, "message", first["id"], "fraud")).status_code == 201
    await decided_case(reviewer, (await case_of(reviewer, "message", first["id"]))["id"], "remove")
    await expect(bo_page.locator(".message .text.gone")).to_have_text(ui(bos, "chat.removed"))
    removed = bo_page.locator(".message .thumb.gone")
    await expect(removed).to_have_text(ui(bos, "media.removed"))
    await expect(bo_page.locator(".message .thumb img")).to_have_count(0)

    # Logged in again, the app learns it from the download's 404.
    again = await signed_in(browser, server, bo, english=bos)
    await open_chat(again)
    await expect(again.locator(".message .thumb.gone")).to_have_text(ui(bos, "media.removed"))
    await expect(again.locator(".message .file .name")).to_have_text("report.pdf")


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_an_upload_the_server_refuses_says_why(
    browser: Browser, servers: ServerPool, make_user: MakeUser, english: bool, tmp_path: Path
) -> None:
    small = servers.shared(limits__max_image_bytes=4096, limits__max_file_bytes=8192)
    amy, bo = await make_user("amy", on=small), await make_user("bo", on=small)
    await amy.open_direct(bo.id)
    page = await signed_in(browser, small, amy, english=english)
    await open_chat(page)
    tray = page.get_by_role("list", name=ui(english, "media.attachments"))

    # A pasted picture past the cap, and an archive named like a photo.
    large = noise_png(64)
    assert len(large) > 8192
    await hand_over(page, "paste", "screenshot.png", large, "image/png")
    archive = tmp_path / "holiday.jpg"
    archive.write_bytes(ZIP)
    await page.locator("input[name=attach]").set_input_files(archive)
    refusals = tray.locator("li.refused [role=alert]")
    await expect(refusals).to_have_text(
        [ui(english, "error.media_too_large"), ui(english, "error.media_type_unsupported")]
    )
    await check_screen(page, f"chat-upload-refused-{'en' if english else 'zh-CN'}")

    # Nothing goes; removed, the refusals are gone.
    await page.get_by_role("button", name=ui(english, "chat.send"), exact=True).click()
    await expect(page.locator(".message")).to_have_count(0)
    for name in ("screenshot.png", "holiday.jpg"):
        await tray.get_by_role("button", name=ui(english, "media.remove", name=name)).click()
    await expect(tray).to_have_count(0)


async def upload(user: User, data: bytes) -> int:
    answer = await user.raw("POST", "/api/v1/media", content=data)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_the_chat_list_says_a_message_without_words_carries_pictures(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    amy, bo = await make_user("amy"), await make_user("bo")
    chat = (await amy.open_direct(bo.id))["id"]
    pictures = [await upload(amy, png(64, 48)) for _ in range(2)]

    async def send(media_ids: list[int]) -> None:
        await amy.request(
            "POST",
            f"/api/v1/conversations/{chat}/messages",
            json={"text": "", "client_id": uuid.uuid4().hex, "media_ids": media_ids},
        )

    await send(pictures[:1])
    page = await signed_in(browser, server, bo, english=english)
    preview = page.locator(".conversation .preview")
    await expect(preview).to_have_text(ui(english, "media.gist.image"))
    await send(pictures)  # arrives live
    await expect(preview).to_have_text(ui(english, "media.gist.images", count="2"))


async def test_an_operator_s_picture_reaches_the_subscribers_timeline_and_post(
    browser: Browser, make_user: MakeUser, reviewer: User, server: Server, tmp_path: Path
) -> None:
    reader = await make_user("reader")
    operator, account = await subscribed_account(make_user, reviewer, reader)

    # The operator writes a post with a title and a picture, and no text.
    writing = await signed_in(browser, server, operator, english=False)
    await open_me(writing, english=False)
    own = writing.locator(".own-account").filter(has_text=account["name"])
    await own.get_by_role("button", name=ui(False, "mine.write")).click()
    compose = own.locator("form.compose")
    await compose.locator("input[name=title]").fill("山里的雪")
    picture = tmp_path / "snow.png"
    picture.write_bytes(png(600, 300))
    await compose.locator("input[name=attach]").set_input_files(picture)
    tray = compose.get_by_role("list", name=ui(False, "media.attachments"))
    await expect(tray.locator("li.uploaded img")).to_have_count(1)
    await compose.get_by_role("button", name=ui(False, "mine.publish"), exact=True).click()
    await expect(compose.get_by_role("status")).to_have_text(ui(False, "mine.published"))
    await expect(tray).to_have_count(0)
    (post,) = (await operator.request("GET", f"/api/v1/public-accounts/{account['id']}/posts"))[
        "posts"
    ]
    assert (post["title"], post["body"], [m["kind"] for m in post["media"]]) == (
        "山里的雪",
        "",
        ["image"],
    )

    # The subscriber sees its thumbnail in the timeline, and the picture where the post is read.
    page = await signed_in(browser, server, reader, english=True)
    await page.get_by_role("button", name=ui(True, "accounts.title")).click()
    card = page.locator(".posts li").filter(has_text="山里的雪")
    await expect(card.get_by_role("button", name=ui(True, "media.open"))).to_have_count(1)
    assert await loaded(page, ".posts .thumb img") == 320
    await card.get_by_role("button", name=re.compile("山里的雪")).click()
    thumb = page.locator(".post-body").get_by_role("button", name=ui(True, "media.open"))
    await expect(thumb).to_have_count(1)
    await thumb.click()
    assert await viewed(page) == 600


async def test_a_post_s_pictures_show_where_it_is_read(
    browser: Browser, make_user: MakeUser, reviewer: User, server: Server
) -> None:
    reader = await make_user("reader")
    operator, account = await subscribed_account(make_user, reviewer, reader)
    pictures = []
    for width, height in ((300, 600), (800, 200)):
        answer = await operator.raw("POST", "/api/v1/media", content=png(width, height))
        assert answer.status_code == 201, answer.text
        pictures.append(answer.json()["id"])
    await operator.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={"title": "春茶上市", "body": "", "content_class": "culture", "media_ids": pictures},
    )
    page = await signed_in(browser, server, reader, english=True)
    await page.get_by_role("button", name=ui(True, "accounts.title")).click()
    await page.get_by_role("button", name=re.compile("春茶上市")).click()
    thumbs = page.locator(".post-body").get_by_role("button", name=ui(True, "media.open"))
    await expect(thumbs).to_have_count(2)
    boxes = [await thumb.bounding_box() for thumb in await thumbs.all()]
    sizes = [(round(box["width"]), round(box["height"])) for box in boxes if box]
    assert sizes == [(100, 200), (200, 50)]
    await loaded(page, ".post-body li:last-child .thumb img")
    await thumbs.last.click()
    viewer = page.get_by_role("dialog", name=ui(True, "media.viewer"))
    assert await viewed(page) == 800
    await page.keyboard.press("Escape")
    await expect(viewer).to_have_count(0)
    await expect(thumbs.last).to_be_focused()
