"""Synthetic stand-ins for what the benchmark cannot make for real at its size.

Vectors: unit vectors in clusters ("themes") that are not points but continua: inside a
theme an image varies along a few directions (64 here), the rough shape of image
embeddings, which have low intrinsic dimension. Neighbourhoods are continuous, so an
IVF cell boundary cuts through them and recall is not trivially 1 (as it is for tight
blobs). Optionally the themes sit around real encoder vectors, so real query vectors
meet the collection where real ones would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

THEME_SHARE = 0.55  # cosine of an image to its theme centre
VARIATION_SHARE = 0.9  # of the rest: along the theme's own directions; the remainder is noise
INTRINSIC_DIMENSION = 64


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


class ClusteredVectors:
    """A reproducible stream of clustered unit vectors; ``anchors`` place the themes if given."""

    def __init__(self, dimension: int, themes: int = 16, seed: int = 0, anchors: np.ndarray | None = None):
        rng = np.random.default_rng(seed)
        if anchors is not None and len(anchors):
            picked = anchors[rng.integers(0, len(anchors), themes)]
            self.centres = unit_rows(picked + 0.3 * unit_rows(rng.standard_normal(picked.shape)))
        else:
            self.centres = unit_rows(rng.standard_normal((themes, dimension)))
        # Each theme's directions of variation: an orthonormal basis, one per theme.
        bases = rng.standard_normal((themes, dimension, INTRINSIC_DIMENSION)).astype(np.float32)
        self.bases = np.linalg.qr(bases)[0].astype(np.float32)
        self.dimension = dimension
        self.seed = seed

    def sample(self, count: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        theme = rng.integers(0, len(self.centres), count)
        spread = math.sqrt(1 - THEME_SHARE**2)
        coefficients = rng.standard_normal((count, INTRINSIC_DIMENSION)).astype(np.float32)
        along = np.empty((count, self.dimension), dtype=np.float32)
        for number, basis in enumerate(self.bases):  # theme by theme: no (count, dimension, 64) temporary
            members = theme == number
            along[members] = coefficients[members] @ basis.T
        noise = rng.standard_normal((count, self.dimension)).astype(np.float32)
        rows = (
            THEME_SHARE * self.centres[theme]
            + spread * VARIATION_SHARE * unit_rows(along)
            + spread * math.sqrt(1 - VARIATION_SHARE**2) * unit_rows(noise)
        )
        return unit_rows(rows)

    def chunks(self, count: int, chunk: int = 20_000) -> Iterator[np.ndarray]:
        for number, start in enumerate(range(0, count, chunk)):
            yield self.sample(min(chunk, count - start), seed=self.seed * 1_000_003 + number + 1)
