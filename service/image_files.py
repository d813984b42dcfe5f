"""Indexed images as files again: the original bytes and small JPEG thumbnails.

Originals are read from where the catalog says they are (folder or archive, never
extracted). A raster chip has no file of its own: its "original" is its window of the
scene, read again and stretched as at indexing time, as PNG. Thumbnails are cached on disk in the data directory, keyed by content
hash and size, so identical images share one and a re-indexed file reuses it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image

from indexer.imagery import indexed_picture
from indexer.sources import read_member
from storage import ImageRecord
from storage.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

THUMBNAIL_SIZES = (64, 1024)  # smallest and largest longest side served
DEFAULT_THUMBNAIL_SIZE = 256


def media_type(image_format: str) -> str:
    """The HTTP content type of a Pillow format name (JPEG -> image/jpeg)."""
    Image.init()
    return Image.MIME.get(image_format.upper(), "application/octet-stream")


def original_bytes(record: ImageRecord) -> tuple[bytes, str]:
    """The image exactly as indexed, and its content type. Raises MemberNotFoundError."""
    if record.geo is not None:
        from indexer.chips import chip_png

        return chip_png(record), "image/png"
    return read_member(record.source, record.member), media_type(record.format)


class ThumbnailCache:
    """JPEG thumbnails of indexed images, made on first request and kept in ``folder``."""

    def __init__(self, folder: Path, quality: int = 85):
        self.folder = Path(folder)
        self.quality = quality
        self._warned = False

    def path(self, record: ImageRecord, size: int) -> Path:
        return self.folder / record.sha256[:2] / f"{record.sha256}-{size}.jpg"

    def get(self, record: ImageRecord, size: int = DEFAULT_THUMBNAIL_SIZE) -> bytes:
        if not THUMBNAIL_SIZES[0] <= size <= THUMBNAIL_SIZES[1]:
            raise ValueError(f"thumbnail size must be between {THUMBNAIL_SIZES[0]} and {THUMBNAIL_SIZES[1]}")
        path = self.path(record, size)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = self.shrink(indexed_picture(record), size)
        self._store(path, data)
        return data

    def shrink(self, picture: Image.Image, size: int) -> bytes:
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=self.quality, optimize=True)
        return out.getvalue()

    def _store(self, path: Path, data: bytes) -> None:
        # A read-only data directory still serves thumbnails; it just cannot keep them.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        except OSError as exc:
            if not self._warned:
                log.warning("thumbnails are not cached (%s): %s", self.folder, exc)
                self._warned = True
