"""Bytes -> an upright RGB picture and what we record about it, or a reason it failed.

Hostile bytes are the normal case here, so every refusal is a :class:`DecodeError`
with a reason and a kind (see indexer.limits.FailureKind), whatever Pillow raised:
malformed files make it raise almost any exception type.

- The pixel limit is checked from the header, before any pixel is decoded.
- Animations (GIF, APNG, WebP) give their first frame. Multi-page TIFFs give their
  first full-resolution page: pages flagged as reduced resolution (overviews,
  thumbnails) or as transparency masks are passed over.
- CMYK, palette, 1-bit, 16-bit, 32-bit and float images become 8-bit RGB; alpha is
  composited on black.
- ``longest_side`` (query photos): decode no more than the picture needs. A JPEG is
  decoded scaled down by its DCT (draft), anything else is reduced right after
  decoding. Raster TIFFs (float, 16-bit, multi-band, georeferenced) never come here:
  ``indexer.imagery`` reads them through rasterio, decimated, as the indexer does.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from indexer.limits import FailureKind

# Refuse images whose pixel count would make decoding exhaust memory.
DEFAULT_MAX_PIXELS = 180_000_000
# TIFF NewSubfileType bits: 1 = reduced-resolution version of another page, 4 = transparency mask.
_NOT_A_FULL_PAGE = 0b101
_MAX_PAGES_SCANNED = 64


class DecodeError(ValueError):
    """The bytes are not an image we can read; the message says why, ``kind`` counts it."""

    def __init__(self, reason: str, kind: str = FailureKind.CORRUPT_IMAGE):
        super().__init__(reason)
        self.kind = kind


class UnsupportedFormatError(DecodeError):
    """The bytes are no image format Pillow knows (as opposed to a damaged image)."""

    def __init__(self, reason: str = "not a recognised image format"):
        super().__init__(reason, FailureKind.NOT_AN_IMAGE)


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF orientation applied
    width: int
    height: int
    format: str  # what the bytes are (JPEG, PNG, TIFF...), not what the name says


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, longest_side: int | None = None) -> DecodedImage:
    if not data:
        raise DecodeError("empty file", FailureKind.EMPTY)
    _let_pillow_open(max_pixels)
    try:
        with warnings.catch_warnings():
            # Our own limit below is the policy; Pillow's warning would only duplicate it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _refuse_too_many_pixels(image, max_pixels)
            image_format = image.format or "unknown"
            _seek_first_full_page(image)
            _refuse_too_many_pixels(image, max_pixels)
            if longest_side is not None:
                image.draft("RGB", (longest_side, longest_side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
            image.load()
            image = ImageOps.exif_transpose(image)
            if longest_side is not None:
                image = _reduced(image, longest_side)
            rgb = _to_rgb(image)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedFormatError() from None
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb: {exc}", FailureKind.TOO_MANY_PIXELS) from None
    except Exception as exc:  # malformed files make Pillow raise anything from struct.error to IndexError
        raise DecodeError(f"cannot decode: {exc or type(exc).__name__}") from None
    return DecodedImage(image=rgb, width=rgb.width, height=rgb.height, format=image_format)


def _reduced(image: Image.Image, longest_side: int) -> Image.Image:
    """Shrink by a whole factor while the picture stays at least ``longest_side`` long."""
    factor = max(image.size) // longest_side
    if factor < 2:
        return image
    try:
        return image.reduce(factor)
    except (ValueError, NotImplementedError):  # modes reduce() does not take: keep it whole
        return image


def _let_pillow_open(max_pixels: int) -> None:
    """Raise Pillow's process-wide bomb ceiling to ours, so ``--max-pixels`` above it works.

    Pillow refuses at twice ``Image.MAX_IMAGE_PIXELS`` inside ``Image.open``, before we
    can look. Only ever raised, never lowered, and every open here is followed by our
    own check, so nothing bigger than asked for is decoded.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _refuse_too_many_pixels(image: Image.Image, max_pixels: int) -> None:
    if image.width * image.height > max_pixels:
        raise DecodeError(
            f"{image.width}x{image.height} pixels is over the limit of {max_pixels:,} "
            f"(--max-pixels; decompression bomb?)",
            FailureKind.TOO_MANY_PIXELS,
        )


def _seek_first_full_page(image: Image.Image) -> None:
    """First frame of animations; first page not flagged as an overview or mask in a TIFF."""
    if image.format != "TIFF":
        image.seek(0)
        return
    for page in range(_MAX_PAGES_SCANNED):
        try:
            image.seek(page)
        except EOFError:
            break
        if not int(image.tag_v2.get(254, 0)) & _NOT_A_FULL_PAGE:
            return
    image.seek(0)  # every page is an overview: the first is still a picture of the scene


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit greyscale: scale to 8 bits rather than clip everything to white.
        image = image.point(lambda value: value * (255.0 / 65535.0)).convert("L")
    elif image.mode in ("I", "F"):
        image = _stretch_to_8_bits(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (0, 0, 0))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _stretch_to_8_bits(image: Image.Image) -> Image.Image:
    """32-bit integer or float pixels have no fixed range (reflectance 0..1, counts 0..10000):
    stretch the finite values present to 0..255."""
    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    scale = 255.0 / (high - low) if high > low and math.isfinite(high - low) else 0.0
    stretched = np.nan_to_num((values - low) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(stretched, 0, 255).astype(np.uint8), "L")
