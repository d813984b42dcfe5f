"""Moves images from the user's folders and archives into storage.

sources (bytes + provenance) -> decode (RGB picture) -> encode (vectors) -> store.
Raster scenes take a side road: sources -> raster (scene -> chip windows) -> encode -> store.
"""

from indexer.decode import DecodedImage, DecodeError, decode_image
from indexer.pipeline import Failure, IndexReport, IndexRun, index_paths
from indexer.chips import chip_png, render_chip
from indexer.raster import RasterError, RasterOptions
from indexer.sources import SourceFailure, SourceItem, iter_sources

__all__ = [
    "DecodeError",
    "DecodedImage",
    "Failure",
    "IndexReport",
    "IndexRun",
    "RasterError",
    "RasterOptions",
    "SourceFailure",
    "SourceItem",
    "chip_png",
    "decode_image",
    "index_paths",
    "iter_sources",
    "render_chip",
]
