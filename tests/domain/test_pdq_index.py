"""The PDQ hash bank's index: every banked hash within the distance found, with its distance, and
none further; removals, replacements, bad hashes; the same answers as a scan of every hash; and
copies of a photo within PDQ's usual 31 bits of it.

Measured with generated photo-like images (gradients, shapes, noise): halving the size, JPEG at
quality 40 and a slight re-colouring move the hash 0 to 10 bits; cropping moves it far more: 1 %
off one side 10 to 20 bits, 2 % 18 to 36, 5 % 60 to 72, and 5 % off every side 74 to 96. PDQ
holds against recompression and resizing, not against crops of a few per cent.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
import pdqhash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance

from townhall.domain.pdq import PdqHashInvalid, normalize_pdq
from townhall.domain.pdq_index import PdqIndex, PdqMatch, hamming

PDQ_THRESHOLD = 31  # PDQ's suggested distance, and the pack's


def random_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def flipped(hash_hex: str, bits: list[int] | range) -> str:
    value = int(hash_hex, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


def bank_of(count: int, seed: int = 7) -> tuple[PdqIndex[int], list[str]]:
    """An index of `count` random hashes with every hash in its tables (none left to scan)."""
    rng = random.Random(seed)
    hashes = [random_hash(rng) for _ in range(count)]
    index: PdqIndex[int] = PdqIndex(unindexed_limit=0)
    index.add_many((hash_hex, key) for key, hash_hex in enumerate(hashes))
    return index, hashes


INDEX, HASHES = bank_of(5_000)


def test_an_exact_copy_is_found_at_distance_zero() -> None:
    assert INDEX.nearest(HASHES[42], 0) == [PdqMatch(42, 0)]
    assert INDEX.nearest(HASHES[42], PDQ_THRESHOLD) == [PdqMatch(42, 0)]


# The ways d bits can differ that matter to an index of 16-bit substrings: spread one to a
# substring, crowded into the fewest substrings, and crowded at the end.
@pytest.mark.parametrize(
    "bits_for",
    [
        lambda d: [16 * (i % 16) + i // 16 for i in range(d)],
        lambda d: list(range(d)),
        lambda d: list(range(256 - d, 256)),
        lambda d: random.Random(d).sample(range(256), d),
    ],
    ids=["spread", "crowded", "crowded-at-the-end", "random"],
)
def test_a_hash_up_to_the_distance_away_is_found_with_its_distance(
    bits_for: Callable[[int], list[int]],
) -> None:
    for distance in range(PDQ_THRESHOLD + 1):
        query = flipped(HASHES[7], bits_for(distance))
        assert INDEX.nearest(query, PDQ_THRESHOLD) == [PdqMatch(7, distance)]
        assert INDEX.nearest(query, distance) == [PdqMatch(7, distance)]
        if distance:
            assert INDEX.nearest(query, distance - 1) == []


@pytest.mark.parametrize("lonely", range(16))
def test_a_hash_at_the_distance_is_found_whichever_substring_differs_least(lonely: int) -> None:
    """The tight cases of the pigeonhole: at 31 bits, two in every 16-bit substring but one,
    which has one; at 32, two in every substring, or three in one and one in the next."""
    two_each = [16 * substring + bit for substring in range(16) for bit in (3, 11)]
    at_31 = [bit for bit in two_each if bit != 16 * lonely + 3]
    at_32 = [bit for bit in two_each if bit != 16 * ((lonely + 1) % 16) + 3] + [16 * lonely + 7]
    assert INDEX.nearest(flipped(HASHES[9], at_31), 31) == [PdqMatch(9, 31)]
    assert INDEX.nearest(flipped(HASHES[9], two_each), 32) == [PdqMatch(9, 32)]
    assert INDEX.nearest(flipped(HASHES[9], at_32), 32) == [PdqMatch(9, 32)]


@pytest.mark.parametrize("distance", [32, 33, 40, 64])
def test_a_hash_further_away_is_not_found(distance: int) -> None:
    query = flipped(HASHES[7], random.Random(distance).sample(range(256), distance))
    assert INDEX.nearest(query, PDQ_THRESHOLD) == []
    assert INDEX.nearest(query, distance) == [PdqMatch(7, distance)]


def test_matches_come_nearest_first_then_in_the_order_they_were_added() -> None:
    original = HASHES[0]
    index: PdqIndex[str] = PdqIndex()
    index.add(flipped(original, range(20)), "far")
    index.add(flipped(original, range(3)), "near")
    index.add(original, "same")
    index.add(flipped(original, range(200, 203)), "also near")
    index.add(flipped(original, range(40)), "too far")
    assert index.nearest(original, PDQ_THRESHOLD) == [
        PdqMatch("same", 0),
        PdqMatch("near", 3),
        PdqMatch("also near", 3),
        PdqMatch("far", 20),
    ]


def test_an_upper_case_hash_is_the_same_hash() -> None:
    assert INDEX.nearest(HASHES[3].upper(), 0) == [PdqMatch(3, 0)]
    assert normalize_pdq(HASHES[3].upper()) == HASHES[3]


def test_a_removed_key_is_no_longer_found_and_an_unknown_one_is_ignored() -> None:
    index, hashes = bank_of(100)
    index.remove(5)
    index.remove(5)
    index.remove(12_345)
    assert index.nearest(hashes[5], PDQ_THRESHOLD) == []
    assert 5 not in index and len(index) == 99
    assert index.nearest(hashes[6], 0) == [PdqMatch(6, 0)]


def test_adding_a_key_again_replaces_its_hash() -> None:
    index, hashes = bank_of(100)
    index.add(hashes[99], 1)
    assert index.nearest(hashes[1], PDQ_THRESHOLD) == []
    assert index.nearest(hashes[99], 0) == [PdqMatch(99, 0), PdqMatch(1, 0)]
    assert index.hash_of(1) == hashes[99] and len(index) == 100


def test_removing_a_hash_forgets_every_key_holding_exactly_it() -> None:
    index, hashes = bank_of(100)
    index.add(hashes[10], 1_000)
    index.add(flipped(hashes[10], [0]), 1_001)
    assert sorted(index.remove_hash(hashes[10].upper())) == [10, 1_000]
    assert index.nearest(hashes[10], PDQ_THRESHOLD) == [PdqMatch(1_001, 1)]


def test_the_hashes_held_are_listed_in_the_order_they_were_added() -> None:
    index, hashes = bank_of(50)
    index.remove(0)
    index.add(hashes[0].upper(), 0)
    in_order = [(hash_hex, key) for key, hash_hex in enumerate(hashes)]
    assert list(index.items()) == [*in_order[1:], (hashes[0], 0)]
    assert index.hash_of(7) == hashes[7] and index.hash_of(-1) is None


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0" * 63,
        "0" * 65,
        "g" + "0" * 63,
        " " + "0" * 63,
        "00 " * 21 + "0",  # 64 characters that bytes.fromhex would read as 21 bytes
        "\uff10" * 64,  # full-width zeros: str.isdigit() says yes, hex says no
        "0x" + "0" * 62,
    ],
)
def test_a_string_that_is_not_64_hex_digits_is_refused(bad: str) -> None:
    with pytest.raises(PdqHashInvalid, match="64 hexadecimal digits") as refused:
        INDEX.nearest(bad, PDQ_THRESHOLD)
    assert isinstance(refused.value, ValueError)
    assert bad.strip() == "" or bad not in str(refused.value)  # the value is never repeated
    with pytest.raises(PdqHashInvalid):
        INDEX.add(bad, 1)
    with pytest.raises(PdqHashInvalid):
        hamming(bad, HASHES[0])


def test_a_batch_with_one_bad_hash_adds_none_of_it() -> None:
    index, hashes = bank_of(10)
    with pytest.raises(PdqHashInvalid):
        index.add_many([(hashes[0], 100), ("00 " * 21 + "0", 101), (hashes[1], 102)])
    assert len(index) == 10 and 100 not in index


@pytest.mark.parametrize("distance", [-1, 257])
def test_a_distance_outside_the_hash_is_refused(distance: int) -> None:
    with pytest.raises(ValueError, match="max_distance"):
        INDEX.nearest(HASHES[0], distance)


def test_hamming_counts_the_bits_that_differ() -> None:
    assert hamming(HASHES[0], HASHES[0].upper()) == 0
    assert hamming(HASHES[0], flipped(HASHES[0], [0, 100, 255])) == 3
    assert hamming("0" * 64, "f" * 64) == 256


def test_an_empty_index_finds_nothing() -> None:
    index: PdqIndex[int] = PdqIndex()
    assert len(index) == 0
    assert index.nearest(HASHES[0], PDQ_THRESHOLD) == []
    assert index.nearest(HASHES[0], 200) == []


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    unindexed_limit=st.sampled_from([25, 150, 1_000]),
    max_distance=st.sampled_from([0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 64, 66, 80]),
)
def test_the_index_answers_as_a_scan_of_every_hash_does(
    seed: int, unindexed_limit: int, max_distance: int
) -> None:
    """Random hashes and clusters of near ones, added singly and in batches (merges into the
    tables, hashes not yet merged), a third removed (compactions), some keys replaced; looked
    up by neighbours of banked hashes (bits flipped spread or crowded) and by random hashes."""
    rng = random.Random(seed)
    index: PdqIndex[int] = PdqIndex(unindexed_limit=unindexed_limit)
    held: dict[int, tuple[int, int]] = {}  # key: (hash, when added)
    added = 0

    def neighbour(hash_hex: str) -> str:
        bits = rng.randint(0, 48)
        if rng.random() < 0.5:
            start = rng.randrange(256 - bits + 1)
            return flipped(hash_hex, range(start, start + bits))
        return flipped(hash_hex, rng.sample(range(256), bits))

    def hash_for_new_key() -> str:
        if held and rng.random() < 0.3:
            return neighbour(f"{held[rng.choice(list(held))][0]:064x}")
        return random_hash(rng)

    pending: list[tuple[str, int]] = []
    for key in range(3_000):
        pending.append((hash_for_new_key(), key))
        if rng.random() < 0.5 or key == 2_999:  # alone, or a batch of those since the last
            if len(pending) == 1:
                index.add(*pending[0])
            else:
                index.add_many(pending)
            for hash_hex, added_key in pending:
                held[added_key] = (int(hash_hex, 16), added)
                added += 1
            pending = []
    for key in rng.sample(sorted(held), len(held) // 3):
        index.remove(key)
        del held[key]
    for key in rng.sample(sorted(held), 20):
        hash_hex = random_hash(rng)
        index.add(hash_hex, key)
        held[key] = (int(hash_hex, 16), added)
        added += 1
    assert len(index) == len(held)

    banked = sorted(held)
    queries = [neighbour(f"{held[rng.choice(banked)][0]:064x}") for _ in range(25)]
    queries += [random_hash(rng) for _ in range(5)]
    for query in queries:
        value = int(query, 16)
        scanned = sorted(
            (distance, when, key)
            for key, (hash_value, when) in held.items()
            if (distance := (hash_value ^ value).bit_count()) <= max_distance
        )
        expected = [PdqMatch(key, distance) for distance, _, key in scanned]
        assert index.nearest(query, max_distance) == expected


def photo(seed: int, height: int = 360, width: int = 480) -> Image.Image:
    """A photo-like picture: soft colour waves, a dozen discs and a few blended rectangles,
    sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        fx, fy = rng.uniform(1, 3, 2)
        phase_x, phase_y = rng.uniform(-1, 1, 2)
        pixels[..., channel] = 128 + 60 * np.sin(x / width * np.pi * fx + phase_x) * np.cos(
            y / height * np.pi * fy + phase_y
        )
    for _ in range(12):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(15, 90)
        disc = (y - cy) ** 2 + (x - cx) ** 2 < radius**2
        pixels[disc] = 0.3 * pixels[disc] + 0.7 * rng.uniform(0, 255, 3)
    for _ in range(6):
        top, left = rng.integers(0, height - 60), rng.integers(0, width - 60)
        bottom, right = top + rng.integers(20, 110), left + rng.integers(20, 150)
        pixels[top:bottom, left:right] = 0.5 * pixels[top:bottom, left:right] + 0.5 * rng.uniform(
            0, 255, 3
        )
    pixels += rng.normal(0, 8, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def pdq_hex(image: Image.Image) -> str:
    """As python-threatexchange writes it: the 256 bits in pdqhash's order, most significant
    first."""
    bits, _quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def cropped(image: Image.Image, share: float) -> Image.Image:
    """`share` of the width cut off the right, of the height off the bottom."""
    width, height = image.size
    return image.crop((0, 0, width - int(width * share), height - int(height * share)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_copies_of_a_photo_are_within_31_bits_and_another_photo_is_not(seed: int) -> None:
    original = photo(seed)
    width, height = original.size
    copies = {
        "half the size": original.resize((width // 2, height // 2), Image.Resampling.LANCZOS),
        "jpeg quality 40": jpeg(original, 40),
        "brighter, less saturated": ImageEnhance.Color(
            ImageEnhance.Brightness(original).enhance(1.1)
        ).enhance(0.85),
        "all three": jpeg(original.resize((width // 2, height // 2)), 40),
        "1 % cropped": cropped(original, 0.01),
    }
    index: PdqIndex[str] = PdqIndex()
    index.add(pdq_hex(original), "removed")
    for name, copy in copies.items():
        found = index.nearest(pdq_hex(copy), PDQ_THRESHOLD)
        assert [match.key for match in found] == ["removed"], name
    assert index.nearest(pdq_hex(photo(seed + 100)), PDQ_THRESHOLD) == []
