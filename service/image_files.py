"""Indexed images as files again: the original bytes and small JPEG thumbnails.

Originals are read from where the catalog says they are (folder or archive, never
extracted). A raster chip has no file of its own: its "original" is its window of the
scene, read again and stretched as at indexing time, as PNG.

Nothing is served, rendered or cached unless it is the indexed content: a picture's
bytes must hash to the recorded sha256, a chip's scene files to the recorded scene
fingerprint (``indexer.chips.verified_scene``). A file replaced since indexing (by
other bytes, or by a link to ``/proc/self/environ``) raises ``ContentChangedError``
(410) or ``MemberNotFoundError`` (404). Thumbnails are cached on disk in the data
directory, keyed by the verified content hash and size, so identical images share one
and a re-indexed file reuses it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

from PIL import Image

from indexer.decode import decode_image
from indexer.sources import ContentChangedError, location, read_member
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
    """The image exactly as indexed, and its content type.

    Raises MemberNotFoundError (gone, or refused) and ContentChangedError (other bytes now).
    """
    if record.geo is not None:
        from indexer.chips import chip_png

        return chip_png(record), "image/png"
    return verified_bytes(record), media_type(record.format)


def verified_bytes(record: ImageRecord) -> bytes:
    """A picture's bytes as read from its location, if they still hash to what was indexed."""
    data = read_member(record.source, record.member)
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise ContentChangedError(
            f"{location(record.source, record.member)} changed since it was indexed "
            f"(its content no longer matches the catalog): run `rsclip index` on it again"
        )
    return data


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
        if record.geo is not None:
            from indexer.chips import render_chip

            data = self.shrink(render_chip(record), size)
        else:
            data = self.render(verified_bytes(record), size)
        self._store(path, data)  # only verified content gets here: the entry is keyed by its hash
        return data

    def render(self, image_bytes: bytes, size: int) -> bytes:
        return self.shrink(decode_image(image_bytes).image, size)

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
