"""The images to index: real remote-sensing samples when the shared data folder is there,
generated scenes otherwise, made distinct so that none is skipped as a duplicate.

Real samples (shared/data/captioned beside the repository, never committed): 256 px UC Merced TIFF chips,
500 px Sydney TIFFs and 224 px RSICD JPEGs. Each copy is flipped/rotated and has one
pixel changed, and is written in its original format, so decoding costs what it would.
Every third copy of a 500 px image is written as JPEG: the "larger JPEGs" of the brief.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
_TRANSPOSES = (None, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180)


def shared_data() -> Path | None:
    """``shared/data/captioned`` beside the repository (or beside a folder above it: worktrees)."""
    for folder in REPO.parents[:3]:
        candidate = folder / "shared" / "data" / "captioned"
        if candidate.is_dir():
            return candidate
    return None


def real_samples(root: Path | None) -> list[Path]:
    if root is None or not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".tif", ".tiff", ".jpg", ".jpeg"))


def _generated_samples(folder: Path) -> list[Path]:
    from rsclip.samples import SCENE_KINDS, make_scene

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, kind in enumerate(SCENE_KINDS):
        for size, suffix in ((256, ".tif"), (512, ".jpg")):
            path = folder / f"{kind}_{size}{suffix}"
            make_scene(kind, seed=number, size=size).save(path)
            paths.append(path)
    return paths


def prepare_images(
    folder: Path, count: int, real: Path | None = None, lossless_suffix: str | None = None
) -> tuple[list[Path], str]:
    """Write ``count`` distinct images into ``folder``; returns their paths and where they came from.

    ``real``: a folder of sample images; default the shared data folder when there is one.
    ``lossless_suffix``: write the non-JPEG images in this format (".png") instead of their
    source's (TIFF): for a peer tool that reads only JPEG, PNG and WebP.
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = real or shared_data()
    samples = real_samples(root)
    origin = f"{len(samples)} real samples from {root}" if samples else "generated scenes (no real samples found)"
    if not samples:
        samples = _generated_samples(folder / "_originals")
    written = []
    for number in range(count):
        source = samples[number % len(samples)]
        with Image.open(source) as opened:
            image = opened.convert("RGB")
        transpose = _TRANSPOSES[(number // len(samples)) % len(_TRANSPOSES)]
        if transpose is not None:
            image = image.transpose(transpose)
        pixels = np.array(image)
        pixels[0, 0] = [(number * 7) % 256, (number * 13) % 256, number // 256 % 256]  # distinct content
        image = Image.fromarray(pixels)
        suffix = source.suffix.lower()
        if lossless_suffix and suffix not in (".jpg", ".jpeg"):
            suffix = lossless_suffix
        if max(image.size) >= 500 and number % 3 == 0:
            suffix = ".jpg"
        path = folder / f"{number:05d}_{source.stem}{suffix}"
        image.save(path, quality=90) if suffix in (".jpg", ".jpeg") else image.save(path)
        written.append(path)
    return written, origin
