"""The image hash bank: an image a reviewer removes joins it, and its re-encoded, halved and
recompressed copies are refused on every surface while an unrelated photo is not; what was
forwarded goes with the original; hash lists in Meta's HMA / ThreatExchange formats are imported
whole or not at all (over the API and the command line), exported and imported back; the bank
survives a restart, and a second process sees a new hash within a second."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, moved
from tests.databases import postgresql_only
from tests.redis_here import redis_url, unique_prefix
from tests.support import (
    assert_error,
    case_of,
    decided_case,
    group_of,
    public_account,
    query_db,
    report,
)
from townhall.bench.photos import photo
from townhall.services.imaging import pdq_of

pytestmark = pytest.mark.usefixtures("no_server_errors")

HASHES = "/api/v1/admin/moderation/image-hashes"
EXPORT = f"{HASHES}/export"
CSV_HEADER = "signal_type,signal_str,collab,category,tags"
WITHIN_SECONDS = 1.0


# Pictures ---------------------------------------------------------------------------------------


def own_photo(width: int = 640, height: int = 480) -> Image.Image:
    """A photo-like picture no other test sends: the server is shared, and its bank with it."""
    return photo(uuid.uuid4().int % 2**32, width, height)


def encoded(image: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def copies(image: Image.Image) -> dict[str, bytes]:
    """What a user sends again of a removed picture: re-encoded, halved, badly recompressed."""
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    return {
        "re-encoded as PNG": encoded(image, "PNG"),
        "halved": encoded(half, quality=90),
        "recompressed at JPEG quality 40": encoded(image, quality=40),
    }


def pdq(data: bytes) -> str:
    """The PDQ hash the server takes of an upload: of its pixels as decoded."""
    with Image.open(io.BytesIO(data)) as image:
        return pdq_of(image)[0]


async def upload(user: User, data: bytes) -> int:
    return int((await user.upload(data))["id"])


async def send_media(user: User, conversation_id: int, data: bytes) -> httpx.Response:
    """Upload the picture and send it on its own; the send's answer as it is."""
    body = {"text": "", "client_id": uuid.uuid4().hex, "media_ids": [await upload(user, data)]}
    return await user.raw("POST", f"/api/v1/conversations/{conversation_id}/messages", json=body)


async def refused_within(
    user: User, conversation_id: int, data: bytes, seconds: float
) -> httpx.Response:
    """Send the picture until it is refused, for at most `seconds`; the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = await send_media(user, conversation_id, data)
        if answer.status_code == 422 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.05)


def hash_list(*rows: str) -> str:
    return "\n".join((CSV_HEADER, *rows)) + "\n"


async def imported(admin: User, text: str, name: str, *category_map: str) -> dict[str, Any]:
    answer = await import_list(admin, text, name, *category_map)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def import_list(
    admin: User, text: str | bytes, name: str, *category_map: str
) -> httpx.Response:
    params: list[tuple[str, str]] = [("list", name), *(("category_map", m) for m in category_map)]
    return await admin.raw(
        "POST",
        HASHES,
        params=params,
        content=text.encode() if isinstance(text, str) else text,
        headers={"Content-Type": "text/csv"},
    )


# Banked by review -------------------------------------------------------------------------------


async def test_a_removed_image_s_copies_are_refused_and_an_unrelated_photo_is_not(
    server: Server,
    make_user: MakeUser,
    alice: User,
    bob: User,
    carol: User,
    reviewer: User,
    second_reviewer: User,
    admin: User,
) -> None:
    picture = own_photo()
    original = encoded(picture, quality=90)
    group = (await group_of(alice, "摄影群", bob, carol))["id"]
    sent = await send_media(alice, group, original)
    assert sent.status_code == 201, sent.text
    media_id = sent.json()["media"][0]["id"]
    # Bob forwards it to Carol (the same media object); Dave uploads the same file elsewhere.
    direct = (await bob.open_direct(carol.id))["id"]
    await bob.send(direct, "", media_ids=[media_id])
    dave, erin = await make_user("dave"), await make_user("erin")
    elsewhere = (await dave.open_direct(erin.id))["id"]
    again = await send_media(dave, elsewhere, original)
    assert again.status_code == 201, again.text
    same_file = again.json()["media"][0]["id"]
    assert same_file != media_id

    assert (await report(bob, "message", sent.json()["id"], "pornography")).status_code == 201
    case = await case_of(reviewer, "message", sent.json()["id"])
    assert case["content"]["media_ids"] == [media_id]
    await decided_case(reviewer, case["id"], "remove", "explicit picture")

    # The forward and the same file sent elsewhere no longer serve it.
    for member, media in ((carol, media_id), (erin, same_file), (dave, same_file)):
        missing = await member.raw("GET", f"/api/v1/media/{media}")
        assert_error(missing, 404, "media_not_found")
    banked = await admin.request("GET", "/api/v1/admin/moderation/hash-bank", params={"limit": 500})
    (entry,) = [e for e in banked["images"]["newest"] if e["case_id"] == case["id"]]
    assert entry == {
        "pdq": pdq(original),
        "category": "pornography",
        "opinion": "POSITIVE_CLASS",
        "source": "review",
        "list_name": None,
        "case_id": case["id"],
        "added_at": entry["added_at"],
    }
    assert banked["images"]["by_category"]["pornography"] >= 1

    # Copies of it are refused, in the group and in a direct chat, to anyone sending them.
    for name, data in copies(picture).items():
        for sender, chat in ((carol, group), (bob, direct)):
            refused = await send_media(sender, chat, data)
            assert_error(refused, 422, "media_blocked")
            assert "pornography" in refused.json()["error"]["message"], name
    ((reasons,),) = query_db(
        server.data_dir,
        "SELECT reasons FROM moderation_statements WHERE author_id = ? AND decision = 'block' "
        "ORDER BY id DESC LIMIT 1",
        bob.id,
    )
    assert '"how":"image_hash"' in reasons and '"category":"pornography"' in reasons
    # A photo it is not is sent.
    assert (await send_media(carol, group, encoded(own_photo()))).status_code == 201

    # Reversed on appeal, it is no longer banked: its copies are sent again.
    appeal = await alice.request(
        "POST", "/api/v1/appeals", json={"case_id": case["id"], "statement": "我的作品"}
    )
    await second_reviewer.request(
        "POST",
        f"/api/v1/admin/appeals/{appeal['id']}/decision",
        json={"verdict": "reverse", "reason": "an artwork"},
    )
    assert (await carol.raw("GET", f"/api/v1/media/{media_id}")).status_code == 200
    assert (await erin.raw("GET", f"/api/v1/media/{same_file}")).status_code == 200
    assert (await send_media(carol, group, copies(picture)["halved"])).status_code == 201


async def test_a_removed_post_s_image_is_refused_in_chats_and_posts(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer)
    picture = own_photo()
    posts = f"/api/v1/public-accounts/{account['id']}/posts"
    body = {"title": "新品", "body": "", "content_class": "culture"}
    post = await operator.request(
        "POST", posts, json={**body, "media_ids": [await upload(operator, encoded(picture))]}
    )
    assert (await report(bob, "post", post["id"], "fraud")).status_code == 201
    case = await case_of(reviewer, "post", post["id"])
    await decided_case(reviewer, case["id"], "remove", "a scam")

    halved = copies(picture)["halved"]
    again = await operator.raw(
        "POST", posts, json={**body, "media_ids": [await upload(operator, halved)]}
    )
    assert_error(again, 422, "media_blocked")
    chat = (await bob.open_direct(operator.id))["id"]
    assert_error(await send_media(bob, chat, halved), 422, "media_blocked")


# Hash lists -------------------------------------------------------------------------------------


async def test_an_hma_list_imported_over_the_api_blocks_or_holds_what_it_lists(
    server: Server,
    alice: User,
    bob: User,
    carol: User,
    admin: User,
    reviewer: User,
) -> None:
    listed, unsure, other = own_photo(), own_photo(), own_photo()
    group = (await group_of(alice, "读书会", bob, carol))["id"]
    name = f"shared-bank-{uuid.uuid4().hex[:6]}"
    text = hash_list(
        f"pdq,{pdq(encoded(listed))},{name},POSITIVE_CLASS,scam_lure spam",
        f"pdq,{pdq(encoded(unsure))},{name},INVESTIGATION_SEED,scam_lure",
        f"video_md5,d41d8cd98f00b204e9800998ecf8427e,{name},POSITIVE_CLASS,scam_lure",
        f"pdq,{pdq(encoded(other))},{name},NEGATIVE_CLASS,scam_lure",
    )
    done = await imported(admin, text, name, "scam_lure=fraud")
    assert done == {
        "list_name": name,
        "list_format": "csv",
        "banked": 2,
        "by_category": {"fraud": 2},
        "held": 1,
        "skipped": {"signal type video_md5": 1, "NEGATIVE_CLASS": 1},
    }

    refused = await send_media(alice, group, copies(listed)["recompressed at JPEG quality 40"])
    assert_error(refused, 422, "media_blocked")
    # A hash the list is unsure of: held for a reviewer, who sees the picture.
    held = await send_media(alice, group, encoded(unsure))
    assert held.status_code == 201, held.text
    assert held.json()["moderation"] == "held"
    case = await case_of(reviewer, "message", held.json()["id"])
    assert case["content"]["media_ids"] == [held.json()["media"][0]["id"]]
    looked = await reviewer.raw("GET", f"/api/v1/media/{held.json()['media'][0]['id']}")
    assert looked.status_code == 200
    assert (await send_media(alice, group, encoded(other))).status_code == 201  # NEGATIVE_CLASS

    banked = await admin.request("GET", "/api/v1/admin/moderation/hash-bank", params={"limit": 500})
    newest = {e["pdq"]: e for e in banked["images"]["newest"]}
    assert newest[pdq(encoded(unsure))]["opinion"] == "INVESTIGATION_SEED"
    assert newest[pdq(encoded(listed))]["list_name"] == name
    assert newest[pdq(encoded(listed))]["source"] == "import"

    # Only administrators import and export.
    assert_error(await import_list(reviewer, text, name), 403, "role_required")
    assert_error(await reviewer.raw("GET", EXPORT), 403, "role_required")


async def test_a_list_with_a_problem_imports_nothing(alice: User, bob: User, admin: User) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    picture = own_photo()
    good = f"pdq,{pdq(encoded(picture))},my-list,POSITIVE_CLASS,violence"
    text = hash_list(good, "pdq,not-a-hash,my-list,POSITIVE_CLASS,violence", "pdq,ab,,,")
    refused = await import_list(admin, text, "my-list")
    assert_error(refused, 400, "hash_list_invalid")
    message = refused.json()["error"]["message"]
    assert "line 3" in message and "line 4" in message and "line 2" not in message
    unmapped = await import_list(admin, hash_list(good.replace("violence", "odd_label")), "x")
    assert_error(unmapped, 400, "hash_list_invalid")
    assert "'odd_label'" in unmapped.json()["error"]["message"]
    assert_error(
        await import_list(admin, good, "x", "odd_label=gossip"), 400, "category_map_invalid"
    )
    assert_error(await import_list(admin, b"pdq \xff\xfe\n", "x"), 400, "hash_list_invalid")
    assert (await send_media(alice, chat, encoded(picture))).status_code == 201


async def test_a_list_past_its_cap_is_refused_as_it_arrives(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(limits__max_hash_list_bytes=2048)
    admin = await make_staff("admin", on=server)
    line = f"pdq {'0f' * 32}\n"
    refused = await import_list(admin, line * 100, "too-long")
    assert_error(refused, 413, "hash_list_too_large")
    assert (await import_list(admin, line * 10, "short", "short=fraud")).status_code == 201


async def test_a_list_imported_at_the_command_line_is_taken_in_by_the_running_server(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff, tmp_path: Path
) -> None:
    server = servers.shared(lexicon_reload_interval_seconds=0.2)
    alice, bob = await make_user("alice", on=server), await make_user("bob", on=server)
    admin = await make_staff("admin", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    picture = own_photo()
    hashed = pdq(encoded(picture))
    name = f"local-{uuid.uuid4().hex[:6]}"

    bad = tmp_path / "bad.txt"
    bad.write_text(f"pdq {hashed}\npdq {hashed[:-1]}\n", encoding="utf-8")
    said = server.cli("moderation", "image-hashes", "import", str(bad), "--list", name)
    assert said.returncode == 1 and "line 2" in said.stderr
    plain = tmp_path / "plain.txt"
    plain.write_text(f"pdq {hashed}\n", encoding="utf-8")
    said = server.cli(
        "moderation", "image-hashes", "import", str(plain), "--list", name,
        "--category-map", f"{name}=gambling",
    )  # fmt: skip
    assert said.returncode == 0, said.stderr
    assert f"banked 1 hash(es) of list '{name}' (plain)" in said.stdout
    refused = await refused_within(alice, chat, copies(picture)["halved"], 20)
    assert_error(refused, 422, "media_blocked")

    # Exported, at the command line and over the API, each hash tagged with its category.
    row = f"pdq,{hashed},townhall,POSITIVE_CLASS,gambling"
    exported = tmp_path / "bank.csv"
    said = server.cli("moderation", "image-hashes", "export", str(exported))
    assert said.returncode == 0, said.stderr
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0] == CSV_HEADER and row in lines
    answer = await admin.raw("GET", EXPORT)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.text.splitlines() == lines
    shown = await admin.raw("GET", EXPORT, params={"format": "plain", "list": "ours"})
    assert f"pdq {hashed}" in shown.text.splitlines()

    # Taken out, its copies are sent; the export imported back, they are refused again.
    removed = await admin.raw("DELETE", HASHES, params={"pdq": hashed.upper()})
    assert removed.status_code == 204
    assert (await send_media(alice, chat, copies(picture)["halved"])).status_code == 201
    assert_error(
        await admin.raw("DELETE", HASHES, params={"pdq": hashed}), 404, "image_hash_not_found"
    )
    assert_error(await admin.raw("DELETE", HASHES, params={"pdq": "xyz"}), 400, "pdq_hash_invalid")
    back = await imported(admin, hash_list(row), "restored")
    assert back["by_category"] == {"gambling": 1}
    assert_error(await send_media(alice, chat, copies(picture)["halved"]), 422, "media_blocked")


# Across restarts and processes ------------------------------------------------------------------


async def test_the_bank_is_read_again_at_start(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first = servers.start()
    try:
        admin = await make_staff("admin", on=first)
        picture = own_photo()
        await imported(admin, f"pdq {pdq(encoded(picture))}\n", "violence")
    finally:
        first.stop()
    again = servers.start(data_dir=first.data_dir)
    try:
        alice, bob = await make_user("alice", on=again), await make_user("bob", on=again)
        chat = (await alice.open_direct(bob.id))["id"]
        assert_error(await send_media(alice, chat, copies(picture)["halved"]), 422, "media_blocked")
    finally:
        again.stop()


@pytest.fixture(scope="module")
def pair(servers: ServerPool) -> Iterator[tuple[Server, Server]]:
    """Two processes sharing the data dir, the database and a Redis prefix of their own."""
    bus = {"bus_url": redis_url(), "bus_prefix": unique_prefix()}
    first = servers.start(**bus)
    second = servers.start(data_dir=first.data_dir, **bus)
    yield first, second
    first.stop()
    second.stop()


@postgresql_only
async def test_a_hash_banked_on_one_process_is_refused_on_the_other_within_a_second(
    pair: tuple[Server, Server], make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first, second = pair
    alice, bob = await make_user("alice", on=first), await make_user("bob", on=first)
    carol = await make_user("carol", on=first)
    reviewer = await make_staff("reviewer", on=first)
    admin = await make_staff("admin", on=first)
    group = (await group_of(alice, "两地群", bob, carol))["id"]
    there = moved(carol, second)

    # A reviewer's removal on the first: one hash, told over the bus.
    removed, listed = own_photo(), own_photo()
    assert (await send_media(there, group, copies(removed)["halved"])).status_code == 201
    sent = await send_media(alice, group, encoded(removed))
    assert (await report(bob, "message", sent.json()["id"], "violence")).status_code == 201
    case = await case_of(reviewer, "message", sent.json()["id"])
    await decided_case(reviewer, case["id"], "remove", "gore")
    refused = await refused_within(there, group, copies(removed)["halved"], WITHIN_SECONDS)
    assert_error(refused, 422, "media_blocked")

    # A list imported on the first: the whole bank read again.
    assert (await send_media(there, group, encoded(listed))).status_code == 201
    await imported(admin, f"pdq {pdq(encoded(listed))}\n", "terrorism")
    refused = await refused_within(there, group, copies(listed)["halved"], WITHIN_SECONDS)
    assert_error(refused, 422, "media_blocked")
