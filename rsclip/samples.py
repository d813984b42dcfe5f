"""Synthetic aerial-looking scenes for the demo and the tests.

They are drawn, not photographed: enough texture and colour to exercise decoding,
preprocessing and retrieval, and no data file to ship.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SCENE_KINDS = ("farmland", "water", "forest", "urban", "desert", "river")


def make_scene(kind: str, seed: int = 0, size: int = 256) -> Image.Image:
    rng = np.random.default_rng(seed * 1009 + SCENE_KINDS.index(kind))
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    if kind == "farmland":
        stripe = int(rng.integers(12, 40))
        for i, top in enumerate(range(0, size, stripe)):
            green = (60 + int(rng.integers(0, 80)), 120 + int(rng.integers(0, 80)), 40)
            draw.rectangle([0, top, size, top + stripe], fill=green if i % 2 else (190, 170, 90))
    elif kind == "water":
        draw.rectangle([0, 0, size, size], fill=(20, 60 + int(rng.integers(0, 40)), 120))
    elif kind == "forest":
        draw.rectangle([0, 0, size, size], fill=(20, 70, 25))
        for _ in range(300):
            x, y, r = rng.integers(0, size, 2).tolist() + [int(rng.integers(2, 8))]
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(10, 50 + int(rng.integers(0, 60)), 15))
    elif kind == "urban":
        draw.rectangle([0, 0, size, size], fill=(110, 110, 110))
        block = int(rng.integers(20, 40))
        for x in range(0, size, block):
            for y in range(0, size, block):
                shade = int(rng.integers(140, 230))
                draw.rectangle([x + 3, y + 3, x + block - 4, y + block - 4], fill=(shade, shade, shade - 10))
    elif kind == "desert":
        draw.rectangle([0, 0, size, size], fill=(220, 190, 130))
        for y in range(0, size, 9):
            draw.arc([-20, y - 10, size + 20, y + 20], 0, 180, fill=(200, 165, 100), width=3)
    elif kind == "river":
        draw.rectangle([0, 0, size, size], fill=(80, 140, 60))
        points = [(x, size / 2 + np.sin(x / 25 + seed) * size / 5) for x in range(0, size + 8, 8)]
        draw.line(points, fill=(30, 70, 140), width=int(rng.integers(10, 24)))
    noise = rng.normal(0, 8, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.SMOOTH)


def write_samples(folder: str | Path, per_kind: int = 4, size: int = 256) -> list[Path]:
    """Write ``per_kind`` scenes of every kind, cycling JPEG, PNG and TIFF."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    suffixes = (".jpg", ".png", ".tif")
    for kind in SCENE_KINDS:
        for seed in range(per_kind):
            path = folder / f"{kind}_{seed:02d}{suffixes[seed % 3]}"
            make_scene(kind, seed, size).save(path)
            written.append(path)
    return written
