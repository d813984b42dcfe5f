"""Bytes -> an upright RGB picture and what we record about it, or a reason it failed."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Refuse images whose pixel count would make decoding exhaust memory.
DEFAULT_MAX_PIXELS = 180_000_000


class DecodeError(ValueError):
    """The bytes are not an image we can read; the message says why."""


class UnsupportedFormatError(DecodeError):
    """The bytes are no image format Pillow knows (as opposed to a damaged image)."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF orientation applied
    width: int
    height: int
    format: str  # what the bytes are (JPEG, PNG, TIFF...), not what the name says


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    if not data:
        raise DecodeError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise DecodeError(
                    f"{image.width}x{image.height} pixels is over the limit of {max_pixels:,} (decompression bomb?)"
                )
            image_format = image.format or "unknown"
            image.seek(0)  # first frame of animations and multi-page files
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedFormatError("not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError(f"decompression bomb: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DecodeError(f"cannot decode: {exc}") from None
    return DecodedImage(image=rgb, width=rgb.width, height=rgb.height, format=image_format)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits rather than clip everything to white.
        image = image.point(lambda value: value * (255.0 / 65535.0)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (0, 0, 0))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")
