"""Moves images from the user's folders and archives into storage.

sources (bytes + provenance) -> decode (RGB picture) -> encode (vectors) -> store.
"""

from indexer.decode import DecodedImage, DecodeError, decode_image
from indexer.pipeline import Failure, IndexReport, IndexRun, index_paths
from indexer.sources import SourceFailure, SourceItem, iter_sources

__all__ = [
    "DecodeError",
    "DecodedImage",
    "Failure",
    "IndexReport",
    "IndexRun",
    "SourceFailure",
    "SourceItem",
    "decode_image",
    "index_paths",
    "iter_sources",
]
