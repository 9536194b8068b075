"""Photo-like pictures made from a seed, for the media bench and the image-bank tests: what a
perceptual hash and a JPEG encoder see in a photo (light and colour varying slowly across the
frame, things with soft edges, texture, sensor grain) without shipping photos. A 2560 x 1920
one is about 1.9 MB as a JPEG at quality 90, as a phone photo is; two seeds give unrelated
pictures (PDQ hashes some 128 bits apart)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BENCH_WIDTH, BENCH_HEIGHT = 2560, 1920


def photo(seed: int, width: int = BENCH_WIDTH, height: int = BENCH_HEIGHT) -> Image.Image:
    rng = np.random.default_rng(seed)
    # Light and colour vary slowly across a scene: a few muted colours, smoothly blended.
    palette = rng.integers(0, 256, size=(4, 5, 3)).astype(np.float32)
    palette = palette * 0.55 + palette.mean(axis=2, keepdims=True) * 0.45
    scene = Image.fromarray(palette.astype(np.uint8), "RGB").resize(
        (width, height), Image.Resampling.BICUBIC
    )
    # Things in it, with soft edges.
    things = Image.new("RGB", (width, height))
    outline = Image.new("L", (width, height), 0)
    draw, mask = ImageDraw.Draw(things), ImageDraw.Draw(outline)
    for _ in range(int(rng.integers(10, 20))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        half_w = int(rng.integers(width // 16, width // 3)) // 2
        half_h = int(rng.integers(height // 16, height // 3)) // 2
        box = (x - half_w, y - half_h, x + half_w, y + half_h)
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        opacity = int(rng.integers(140, 256))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
            mask.ellipse(box, fill=opacity)
        else:
            draw.rectangle(box, fill=colour)
            mask.rectangle(box, fill=opacity)
    scene = Image.composite(things, scene, outline.filter(ImageFilter.GaussianBlur(width / 400)))
    # Texture at a coarser scale, and grain: what makes a photo's JPEG a few megabytes.
    coarse = rng.normal(0, 1, (max(1, height // 6), max(1, width // 6))).astype(np.float32)
    texture = np.asarray(
        Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BICUBIC)
    )
    grain = rng.normal(0, 12, (height, width, 3)).astype(np.float32)
    pixels = np.asarray(scene, np.float32) + texture[..., None] * 12 + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
