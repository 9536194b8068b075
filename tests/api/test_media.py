"""Images and files: uploaded as the request body, told by their bytes, images kept without their
metadata; attached to messages and posts; read only by those who may read what carries them;
downloaded with Range; and gone for everyone but staff once a reviewer removes what carried
them, wherever they were forwarded."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.conftest import MakeUser, Server, ServerPool, User
from tests.support import (
    FLAGGED,
    applied,
    assert_error,
    case_of,
    decided_case,
    full_history,
    full_sync,
    group_of,
    messages_of,
    public_account,
    query_db,
    tagged,
)
from townhall.bench.photos import photo

pytestmark = pytest.mark.usefixtures("no_server_errors")

MEDIA = "/api/v1/media"
CAMERA = "Townhall Test Camera"
GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


# Images and files made here ----------------------------------------------------------------------


def picture(width: int = 120, height: int = 80, mode: str = "RGB") -> Image.Image:
    """A small picture with something in it (a PDQ hash needs more than a flat colour)."""
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, width // 2, height - 10), fill="red")
    draw.rectangle((width // 2, 5, width - 5, height // 2), fill="blue")
    return image


def own_photo() -> Image.Image:
    """A photo-like picture no other test sends: one a reviewer removes joins the image hash
    bank, and copies of it are refused from then on."""
    return photo(uuid.uuid4().int % 2**32, 320, 240)


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG taken lying on its side (EXIF orientation 6) by a named camera at a place (GPS)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = CAMERA
    exif[GPS_IFD] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 30.0)}
    return encoded(picture(120, 80), "JPEG", exif=exif)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header declares `width` x `height` pixels: a decompression
    bomb, as far as a decoder that believes it is concerned."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG"))
    struct.pack_into(">II", data, 16, width, height)  # IHDR's width and height
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))  # and its CRC
    return bytes(data)


def truncated_jpeg() -> bytes:
    whole = encoded(picture(400, 300), "JPEG", quality=95)
    return whole[: len(whole) // 2]


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4


async def upload(user: User, data: bytes, filename: str | None = None) -> httpx.Response:
    params = {} if filename is None else {"filename": filename}
    return await user.raw("POST", MEDIA, content=data, params=params)


async def uploaded(user: User, data: bytes, filename: str | None = None) -> dict[str, Any]:
    answer = await upload(user, data, filename)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def get_media(user: User, media_id: int, **headers: str) -> httpx.Response:
    return await user.raw("GET", f"{MEDIA}/{media_id}", headers=headers)


async def send_media(
    user: User, conversation_id: int, media_ids: list[int], text: str = ""
) -> httpx.Response:
    body = {"text": text, "client_id": uuid.uuid4().hex, "media_ids": media_ids}
    return await user.raw("POST", f"/api/v1/conversations/{conversation_id}/messages", json=body)


async def sent_media(
    user: User, conversation_id: int, media_ids: list[int], text: str = ""
) -> dict[str, Any]:
    answer = await send_media(user, conversation_id, media_ids, text)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    return (await alice.open_direct(bob.id))["id"]


# Uploads -----------------------------------------------------------------------------------------


async def test_an_image_is_kept_upright_without_its_exif_and_gps(
    alice: User, bob: User, chat: int
) -> None:
    original = jpeg_with_gps()
    assert CAMERA.encode() in original and b"Exif" in original
    media = await uploaded(alice, original, filename="IMG_0001.JPG")

    # Turned upright by its orientation; an image keeps no name.
    assert media | {"id": 0, "size": 0} == {
        "id": 0,
        "kind": "image",
        "content_type": "image/jpeg",
        "size": 0,
        "width": 80,
        "height": 120,
        "filename": None,
    }
    await sent_media(alice, chat, [media["id"]])
    stored = await get_media(bob, media["id"])
    assert stored.status_code == 200, stored.text
    assert len(stored.content) == media["size"]
    assert stored.headers["content-type"] == "image/jpeg"
    assert stored.headers["content-disposition"] == "inline"
    assert stored.headers["x-content-type-options"] == "nosniff"
    assert stored.headers["etag"] == f'"{hashlib.sha256(stored.content).hexdigest()}"'
    assert stored.headers["cache-control"].startswith("private")
    # Nothing of the metadata is left: no EXIF block, no camera, no place.
    assert b"Exif" not in stored.content and CAMERA.encode() not in stored.content
    kept = Image.open(io.BytesIO(stored.content))
    assert kept.size == (80, 120)
    assert dict(kept.getexif()) == {} and "exif" not in kept.info

    thumbnail = await bob.raw("GET", f"{MEDIA}/{media['id']}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (80, 120)  # small already


async def test_each_image_format_keeps_its_format_and_records_its_pdq_hash(
    server: Server, alice: User
) -> None:
    large = picture(1000, 500, "RGBA")
    for fmt, content_type in (("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")):
        media = await uploaded(alice, encoded(large, fmt))
        assert (media["content_type"], media["width"], media["height"]) == (
            content_type,
            1000,
            500,
        )
        stored = await get_media(alice, media["id"])
        assert Image.open(io.BytesIO(stored.content)).format == fmt
        thumbnail = await alice.raw("GET", f"{MEDIA}/{media['id']}/thumbnail")
        assert Image.open(io.BytesIO(thumbnail.content)).size == (320, 160)
    ((pdq, quality),) = query_db(
        server.data_dir, "SELECT pdq, pdq_quality FROM media WHERE id = ?", media["id"]
    )
    assert len(pdq) == 64 and int(pdq, 16) > 0 and 0 <= quality <= 100


async def test_the_format_is_told_by_the_bytes_and_not_by_the_name(alice: User) -> None:
    assert_error(await upload(alice, ZIP, "holiday.jpg"), 415, "media_type_unsupported")
    assert_error(await upload(alice, b"\x00\x01binary" * 100, "notes.txt"), 415)
    # An image's signature with other bytes behind it is no image.
    assert_error(await upload(alice, b"\xff\xd8\xff" + ZIP, "photo.jpg"), 400, "image_invalid")
    # Text named as an image is a text file, saved under a name that says so.
    text = await uploaded(alice, "周末一起去爬山吗\n".encode(), "photo.jpg")
    assert (text["kind"], text["content_type"], text["filename"]) == (
        "file",
        "text/plain; charset=utf-8",
        "photo.jpg.txt",
    )
    assert_error(await upload(alice, b""), 400, "media_empty")


async def test_a_file_is_kept_as_it_came_and_saved_under_its_name(
    alice: User, bob: User, chat: int
) -> None:
    media = await uploaded(alice, PDF, "../../报告\u202efdp.exe.pdf")
    assert (media["kind"], media["content_type"], media["size"]) == (
        "file",
        "application/pdf",
        len(PDF),
    )
    # No path, no right-to-left override to disguise what it is.
    assert media["filename"] == "报告fdp.exe.pdf"
    await sent_media(alice, chat, [media["id"]], "报告在这里")
    stored = await get_media(bob, media["id"])
    assert stored.content == PDF
    assert stored.headers["content-type"] == "application/pdf"
    assert stored.headers["content-disposition"] == (
        "attachment; filename=\"__fdp.exe.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8Afdp.exe.pdf"
    )
    assert_error(await bob.raw("GET", f"{MEDIA}/{media['id']}/thumbnail"), 404, "media_not_found")
    assert_error(await upload(alice, PDF, "x" * 300 + ".pdf"), 400, "filename_invalid")


async def test_an_upload_past_its_cap_is_refused_before_it_is_all_read(
    servers: ServerPool, make_user: MakeUser
) -> None:
    small = servers.shared(limits__max_image_bytes=4096, limits__max_file_bytes=8192)
    alice = await make_user("alice", on=small)
    image = encoded(Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)), "PNG")
    assert len(image) > 4096
    assert_error(await upload(alice, image), 413, "media_too_large")
    # A Content-Length past every cap is refused unread; a text file may be larger than an image.
    text = "春眠不觉晓\n".encode() * 400
    assert 4096 < len(text) <= 8192
    assert (await uploaded(alice, text))["size"] == len(text)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b"%PDF-1.7\n"
        for _ in range(32):
            yield b"0" * 1024

    assert_error(await alice.raw("POST", MEDIA, content=chunked()), 413, "media_too_large")
    # A Content-Length past every cap is answered before any of the body is sent.
    url = httpx.URL(small.base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"POST {MEDIA} HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {alice.token}\r\n"
        "Content-Length: 1000000000\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"413", status_line
    assert (await uploaded(alice, PDF))["kind"] == "file"  # the server carries on


async def test_a_decompression_bomb_and_a_truncated_image_are_refused_and_harm_nothing(
    server: Server, alice: User
) -> None:
    bomb = png_declaring(50_000, 50_000)
    assert len(bomb) < 100
    assert_error(await upload(alice, bomb), 413, "image_too_large")
    assert_error(await upload(alice, png_declaring(8_000, 6_000)), 413, "image_too_large")
    assert_error(await upload(alice, truncated_jpeg()), 400, "image_invalid")
    assert_error(await upload(alice, encoded(picture(), "PNG")[:60]), 400, "image_invalid")
    # The server is unharmed: it answers, and takes the next image.
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
    assert (await uploaded(alice, encoded(picture(), "JPEG")))["kind"] == "image"


async def test_an_upload_the_client_abandons_leaves_nothing_behind(
    server: Server, alice: User
) -> None:
    url = httpx.URL(server.base_url)
    _reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"POST {MEDIA} HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {alice.token}\r\n"
        "Content-Length: 100000\r\n\r\n%PDF-1.7\n".encode()
    )
    await writer.drain()
    await asyncio.sleep(0.3)  # the server has begun to spool it
    writer.close()
    await writer.wait_closed()
    incoming = server.data_dir / "media" / "incoming"
    for _ in range(100):
        if not any(incoming.iterdir()):
            break
        await asyncio.sleep(0.05)
    assert list(incoming.iterdir()) == []
    assert (await uploaded(alice, PDF))["kind"] == "file"


async def test_uploads_are_rate_limited(servers: ServerPool, make_user: MakeUser) -> None:
    limited = servers.shared(limits__uploads_per_user="2/hour")
    alice = await make_user("alice", on=limited)
    for _ in range(2):
        await uploaded(alice, PDF)
    assert_error(await upload(alice, PDF), 429, "too_many_uploads")


async def test_a_suspended_account_uploads_nothing(alice: User, reviewer: User) -> None:
    await applied(reviewer, "user", alice.id, "suspend_updates", days=1)
    assert_error(await upload(alice, PDF), 403, "updates_suspended")


# Messages and posts ------------------------------------------------------------------------------


async def test_members_read_a_message_s_media_and_nobody_else_does(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    image = await uploaded(alice, encoded(picture(), "JPEG"))
    # Before it is sent, it is its uploader's alone.
    assert (await get_media(alice, image["id"])).status_code == 200
    assert_error(await get_media(bob, image["id"]), 404, "media_not_found")
    sent = await sent_media(alice, chat, [image["id"]], "看看这张")
    assert sent["media"] == [image]
    (event,) = messages_of((await full_sync(bob))[0])
    assert event["media"] == [image]
    ((shown,),) = [await full_history(bob, chat)]
    assert shown["media"] == [image]

    assert (await get_media(bob, image["id"])).status_code == 200
    outsider = await get_media(carol, image["id"])
    missing = await get_media(carol, 999_999_999)
    assert_error(outsider, 404, "media_not_found")
    assert_error(missing, 404, "media_not_found")
    assert outsider.json() == missing.json()  # nothing tells one from the other
    # Nor may an outsider send it on.
    other = (await carol.open_direct(bob.id))["id"]
    assert_error(await send_media(carol, other, [image["id"]]), 404, "media_not_found")


async def test_what_a_message_carries_is_checked(alice: User, chat: int) -> None:
    images = [(await uploaded(alice, PDF))["id"] for _ in range(10)]
    assert_error(await send_media(alice, chat, images), 400, "media_ids_invalid")
    assert_error(await send_media(alice, chat, images[:1] * 2), 400, "media_ids_invalid")
    assert_error(await send_media(alice, chat, []), 400, "text_empty")
    assert len((await sent_media(alice, chat, images[:9]))["media"]) == 9


async def test_a_recalled_message_no_longer_shares_its_media(
    alice: User, bob: User, chat: int
) -> None:
    image = await uploaded(alice, encoded(picture(), "JPEG"))
    message = await sent_media(alice, chat, [image["id"]])
    await alice.request("POST", f"/api/v1/conversations/{chat}/messages/{message['id']}/recall")
    assert_error(await get_media(bob, image["id"]), 404, "media_not_found")
    (shown,) = await full_history(bob, chat)
    assert shown["recalled"] and "media" not in shown


async def test_a_post_s_media_are_read_by_its_readers_and_a_held_one_s_by_its_operator(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    image = await uploaded(operator, encoded(picture(), "PNG"))
    post = await operator.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={
            "title": "春茶上市",
            "body": "",
            "content_class": "culture",
            "media_ids": [image["id"]],
        },
    )
    assert post["media"] == [image]
    assert (await bob.read_post(post["id"]))["media"] == [image]
    assert (await get_media(bob, image["id"])).status_code == 200

    held_image = await uploaded(operator, encoded(picture(60, 60), "PNG"))
    held = await operator.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={
            "title": "周末活动",
            "body": tagged(FLAGGED),
            "content_class": "culture",
            "media_ids": [held_image["id"]],
        },
    )
    assert held["moderation"] == "held" and held["media"] == [held_image]
    assert (await get_media(operator, held_image["id"])).status_code == 200
    assert_error(await get_media(bob, held_image["id"]), 404, "media_not_found")


# Ranges and caching ------------------------------------------------------------------------------


async def test_a_download_answers_a_byte_range(alice: User) -> None:
    data = "一二三四五六七八九十\n".encode() * 50
    media = await uploaded(alice, data, "数字.txt")
    size = len(data)

    part = await get_media(alice, media["id"], Range="bytes=10-19")
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    assert part.headers["content-length"] == "10"
    assert part.headers["content-type"] == "text/plain; charset=utf-8"

    tail = await get_media(alice, media["id"], Range="bytes=-7")
    assert (tail.status_code, tail.content) == (206, data[-7:])
    rest = await get_media(alice, media["id"], Range=f"bytes={size - 3}-")
    assert (rest.status_code, rest.content) == (206, data[-3:])
    beyond = await get_media(alice, media["id"], Range=f"bytes=0-{size * 2}")
    assert (beyond.status_code, beyond.content) == (206, data)

    unsatisfiable = await get_media(alice, media["id"], Range=f"bytes={size}-")
    assert_error(unsatisfiable, 416, "range_not_satisfiable")
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    # Several ranges, another unit or a malformed one: the whole file.
    for ignored in ("bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=a-b"):
        whole = await get_media(alice, media["id"], Range=ignored)
        assert (whole.status_code, whole.content) == (200, data), ignored

    etag = part.headers["etag"]
    assert (await get_media(alice, media["id"], **{"If-None-Match": etag})).status_code == 304
    stale = await get_media(alice, media["id"], Range="bytes=0-1", **{"If-Range": '"stale"'})
    assert (stale.status_code, stale.content) == (200, data)
    fresh = await get_media(alice, media["id"], Range="bytes=0-1", **{"If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, data[:2])


# Removal -----------------------------------------------------------------------------------------


async def test_a_removed_message_takes_its_image_from_every_forward_and_only_staff_read_it(
    server: Server,
    make_user: MakeUser,
    alice: User,
    bob: User,
    carol: User,
    reviewer: User,
    second_reviewer: User,
    chat: int,
) -> None:
    # A picture of its own: a removal banks it, and the server is shared.
    image = await uploaded(alice, encoded(own_photo(), "JPEG"))
    original = await sent_media(alice, chat, [image["id"]], tagged(FLAGGED))
    # Bob forwards it to a group of his: the same media object.
    group = (await group_of(bob, "茶话会", carol))["id"]
    forwarded = await sent_media(bob, group, [image["id"]])
    assert forwarded["media"] == [image]
    assert (await get_media(carol, image["id"])).status_code == 200

    case = await case_of(reviewer, "message", original["id"])
    assert case["content"]["media_ids"] == [image["id"]]
    # A reviewer reads it, and the look is recorded.
    assert (await get_media(reviewer, image["id"])).status_code == 200
    assert (await reviewer.raw("GET", f"{MEDIA}/{image['id']}/thumbnail")).status_code == 200
    looks = query_db(
        server.data_dir,
        "SELECT actor_id FROM audit_log WHERE action = 'media.read' AND subject_id = ?",
        image["id"],
    )
    assert looks == [(reviewer.id,), (reviewer.id,)]

    decided = await decided_case(reviewer, case["id"], "remove", "gambling ad")
    assert decided["state"] == "removed"
    for member in (alice, bob, carol):
        assert_error(await get_media(member, image["id"]), 404, "media_not_found")
        assert_error(
            await member.raw("GET", f"{MEDIA}/{image['id']}/thumbnail"), 404, "media_not_found"
        )
    (tombstone,) = await full_history(bob, chat)
    assert tombstone["moderation"] == "removed" and "media" not in tombstone
    assert (await get_media(reviewer, image["id"])).status_code == 200
    # Nobody sends it again.
    assert_error(await send_media(alice, chat, [image["id"]]), 404, "media_not_found")
    ((details,),) = query_db(
        server.data_dir,
        "SELECT details FROM audit_log WHERE action = 'case.remove' AND subject_id = ?",
        case["id"],
    )
    assert f'"media":[{image["id"]}]' in details

    # Reversed on appeal, it is back for everyone who had it.
    appeal = await alice.request(
        "POST", "/api/v1/appeals", json={"case_id": case["id"], "statement": "误会"}
    )
    await second_reviewer.request(
        "POST",
        f"/api/v1/admin/appeals/{appeal['id']}/decision",
        json={"verdict": "reverse", "reason": "a second look"},
    )
    assert (await get_media(carol, image["id"])).status_code == 200
    (restored,) = await full_history(bob, chat)
    assert restored["media"] == [image]


async def test_a_removed_post_takes_its_media_with_it(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer)
    image = await uploaded(operator, encoded(own_photo(), "WEBP"))
    post = await operator.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={
            "title": "春茶上市",
            "body": "春茶上市。",
            "content_class": "culture",
            "media_ids": [image["id"]],
        },
    )
    await bob.request(
        "POST",
        "/api/v1/reports",
        json={"target_type": "post", "target_id": post["id"], "reason": "other"},
    )
    case = await case_of(reviewer, "post", post["id"])
    assert case["content"]["media_ids"] == [image["id"]]
    await decided_case(reviewer, case["id"], "remove", "not allowed")
    assert_error(await get_media(bob, image["id"]), 404, "media_not_found")
    assert_error(await get_media(operator, image["id"]), 404, "media_not_found")
