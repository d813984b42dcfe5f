"""Fixtures shared by every test: a tiny real checkpoint and real image files.

Nothing here mocks the model: the checkpoint is a random SigLIP written with
``save_pretrained`` and loaded through ``encoder.load_encoder`` like a user's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from encoder.tiny_checkpoint import build_tiny_siglip

    return build_tiny_siglip(tmp_path_factory.mktemp("models") / "tiny-siglip", hidden_size=64, image_size=32, patch_size=8)


@pytest.fixture(scope="session")
def encoder(tiny_checkpoint):
    from encoder import load_encoder

    return load_encoder(str(tiny_checkpoint))


def noise_image(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Image.Image:
    """A distinct random picture per seed: random weights still tell these apart."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)


@pytest.fixture
def make_image():
    return noise_image
