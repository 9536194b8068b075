"""The image hash bank on the services as the server builds them: a large list is loaded in a
thread and swapped in without losing what was banked meanwhile, an image too flat to tell its
copies apart is neither banked nor matched, and a list's opinion of a hash decides between a
block and a hold."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

from tests.services.conftest import World
from townhall.domain.hash_lists import HashListFormat
from townhall.domain.moderation import IMAGE_MATCH, Decision
from townhall.services.image_bank import ImageBank, Label
from townhall.store.media import StoredMedia

LIST_SIZE = 20_000

IMAGE = StoredMedia(
    id=7,
    sha256="0" * 64,
    uploader_id=1,
    kind="image",
    content_type="image/jpeg",
    size=1,
    width=1,
    height=1,
    pdq=None,
    pdq_quality=100,
    thumbnail_sha256=None,
    filename=None,
    created_at=0,
    removed_at=None,
    removed_by_case=None,
)


def random_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def flipped(pdq: str, bits: int) -> str:
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def image(pdq: str, quality: int = 100) -> StoredMedia:
    return replace(IMAGE, pdq=pdq, pdq_quality=quality)


async def imported(bank: ImageBank, lines: list[str], list_name: str = "violence") -> None:
    await bank.import_list(
        None, lambda: lines, list_name=list_name, category_map=bank.category_map([])
    )


async def test_a_large_list_is_swapped_in_with_what_was_banked_while_it_loaded(
    world: World,
) -> None:
    bank = world.services.images
    rng = random.Random(19)
    hashes = [random_hash(rng) for _ in range(LIST_SIZE)]
    await imported(bank, [f"pdq {pdq}" for pdq in hashes])
    banked_meanwhile, unbanked_meanwhile = random_hash(rng), hashes[0]

    loading = asyncio.create_task(bank.load(everything=True))
    while not bank._loading:  # the rows read, the index building in its thread
        await asyncio.sleep(0)
    bank.banked([banked_meanwhile], Label("fraud", "POSITIVE_CLASS", None), 1)
    bank.unbanked([unbanked_meanwhile])
    await loading

    assert len(bank) == LIST_SIZE
    copy = bank.match("group", [image(flipped(banked_meanwhile, 20))])
    assert (copy.decision, copy.categories) == (Decision.BLOCK, ["fraud"])
    assert copy.reasons[0].how == IMAGE_MATCH
    assert copy.reasons[0].excerpt == "media 7: 20 bits from a banked image"
    assert bank.match("group", [image(unbanked_meanwhile)]).decision == Decision.ALLOW
    assert bank.match("group", [image(flipped(hashes[-1], 31))]).decision == Decision.BLOCK
    assert bank.match("group", [image(flipped(hashes[-1], 32))]).decision == Decision.ALLOW
    assert bank.match("group", [image(random_hash(rng))]).decision == Decision.ALLOW


async def test_a_flat_image_is_neither_banked_nor_matched(world: World) -> None:
    bank = world.services.images
    await bank.load()
    flat = f"{0:064x}"
    assert bank.bankable([image(flat, quality=49), image(flat, quality=50)]) == [flat]
    await imported(bank, [f"pdq {flat}"])
    assert bank.match("direct", [image(flat, quality=49)]).decision == Decision.ALLOW
    assert bank.match("direct", [image(flat, quality=50)]).decision == Decision.BLOCK
    files = [replace(IMAGE, kind="file", pdq=None)]
    assert bank.match("direct", files).decision == Decision.ALLOW


async def test_a_hash_its_list_is_unsure_of_holds_where_the_pack_blocks(world: World) -> None:
    bank = world.services.images
    await bank.load()
    rng = random.Random(2014)
    sure, unsure = random_hash(rng), random_hash(rng)
    lines = [
        "signal_type,signal_str,collab,category,tags",
        f"pdq,{sure},ours,POSITIVE_CLASS,gambling",
        f"pdq,{unsure},ours,DISPUTED,gambling",
    ]
    await imported(bank, lines, "ours")
    assert bank.match("public_post", [image(unsure)]).decision == Decision.HOLD
    both = bank.match("group", [image(unsure), replace(image(sure), id=8)])
    assert both.decision == Decision.BLOCK
    assert [reason.excerpt for reason in both.reasons] == [
        "media 7: 0 bits from a banked image",
        "media 8: 0 bits from a banked image",
    ]
    assert {reason.term for reason in both.reasons} == {"ours"}


async def test_an_exported_bank_imports_as_it_is_with_the_labels_a_removal_gives(
    world: World,
) -> None:
    bank = world.services.images
    await bank.load()
    rng = random.Random(7)
    # A removal reported as `other`, or naming no category, banks its images so: such a tag maps
    # to itself like the pack's categories.
    reported, unnamed = random_hash(rng), random_hash(rng)
    assert {"other", "unspecified", "fraud"} <= set(bank.category_map([]))
    header = "signal_type,signal_str,collab,category,tags"
    listed = [header, f"pdq,{reported},,,other", f"pdq,{unnamed},,,unspecified"]
    await imported(bank, listed, "theirs")
    exported = await bank.export(None, list_name="ours", list_format=HashListFormat.CSV)
    lines = [line async for page in exported for line in page.splitlines()]
    assert lines[0] == header
    assert f"pdq,{reported},ours,POSITIVE_CLASS,other" in lines
    assert f"pdq,{unnamed},ours,POSITIVE_CLASS,unspecified" in lines

    await imported(bank, lines, "ours")
    assert bank.match("group", [image(reported)]).categories == ["other"]
    assert bank.match("group", [image(unnamed)]).categories == ["unspecified"]
