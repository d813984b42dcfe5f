"""Typical text queries, whose vectors calibrate an approximate vector index.

When the store builds an IVF index it measures recall@10 against exact search and
raises ``nprobe`` until text queries reach the target too. Text vectors sit apart from
image vectors (the modality gap), so only the model's own text vectors show what text
search loses; the indexer has the model, so it hands these over (see ``IndexRun``).
Their mean is the direction text queries share, which also shapes the index: cells of
its own for what leans that way (``storage/coarse_cells.py``) and, in a PQ index, each
vector's error along it (``storage/text_axis.py``).
They are generic remote-sensing requests, not the user's queries (nothing is logged).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PROBE_QUERIES = (
    "an aerial image of farmland",
    "a satellite image of a city",
    "a river crossing a forest",
    "an airport runway",
    "ships in a harbour",
    "a highway with cars",
    "residential buildings with gardens",
    "an industrial zone with warehouses",
    "a lake surrounded by trees",
    "a beach next to the sea",
    "bare mountains",
    "a sports stadium",
    "a bridge over water",
    "a parking lot",
    "a desert",
    "snow and ice",
    "a dense forest",
    "a church in a town square",
    "an interchange of roads",
    "a train station",
    "agricultural fields in a grid",
    "a wetland with ponds",
    "a solar farm",
    "clouds over the land",
)


def text_probe_vectors(encoder) -> Callable[[], np.ndarray]:
    """A callable the store invokes only if it builds an approximate index."""
    return lambda: encoder.encode_texts(list(PROBE_QUERIES))
