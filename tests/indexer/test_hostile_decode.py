"""Unusual and hostile image bytes: each decodes to a sensible RGB picture or fails with a kind."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from indexer.decode import DecodeError, decode_image
from indexer.limits import FailureKind as K
from tests.indexer.hostile import (
    animated_gif,
    encoded,
    float_tiff,
    noise,
    png_header_only,
    sixteen_bit_png,
    tiff_with_overview_first,
)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode_image(data).image, dtype=np.int16)


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"", K.EMPTY),
        (b"GIF89a but nothing after", K.NOT_AN_IMAGE),
        (b"plain words with a .png name", K.NOT_AN_IMAGE),
        (encoded(noise(1, (64, 64)))[:300], K.CORRUPT_IMAGE),
        (encoded(noise(1, (64, 64)), "JPEG")[:400], K.CORRUPT_IMAGE),
        (png_header_only(100_000, 100_000), K.TOO_MANY_PIXELS),
    ],
    ids=["zero-bytes", "gif-header-only", "not-an-image", "truncated-png", "truncated-jpeg", "pixel-bomb-header"],
)
def test_bad_bytes_fail_with_a_reason_and_a_kind(data, kind):
    with pytest.raises(DecodeError) as refused:
        decode_image(data)
    assert refused.value.kind == kind
    assert str(refused.value)


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    with pytest.raises(DecodeError, match="over the limit of 1,000,000") as refused:
        decode_image(png_header_only(2000, 2000), max_pixels=1_000_000)
    assert refused.value.kind == K.TOO_MANY_PIXELS


def test_a_pixel_limit_above_pillows_own_ceiling_is_honoured():
    # 400 M pixels is over twice Pillow's default MAX_IMAGE_PIXELS: Pillow alone would call it a bomb.
    with pytest.raises(DecodeError) as refused:
        decode_image(png_header_only(20_000, 20_000), max_pixels=500_000_000)
    assert refused.value.kind == K.CORRUPT_IMAGE  # got past the bomb check; the pixels just are not there


def test_animated_gif_gives_its_first_frame():
    pixels = _pixels(animated_gif([(255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    assert tuple(pixels[5, 5]) == (255, 0, 0)


def test_multipage_tiff_skips_a_reduced_resolution_first_page():
    full = noise(7, (40, 30))
    decoded = decode_image(tiff_with_overview_first(noise(6, (8, 8)), full))
    assert (decoded.width, decoded.height) == (40, 30)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(full))


@pytest.mark.parametrize("fmt, tolerance", [("JPEG", 40), ("TIFF", 1)])
def test_cmyk_becomes_the_same_colours_in_rgb(fmt, tolerance):
    original = noise(2)
    pixels = _pixels(encoded(original.convert("CMYK"), fmt))
    reference = np.asarray(original.convert("CMYK").convert("RGB"), dtype=np.int16)
    assert np.abs(pixels - reference).mean() < tolerance


def test_sixteen_bit_png_keeps_its_full_range():
    pixels = _pixels(sixteen_bit_png())
    assert pixels.min() < 10 and pixels.max() > 245


def test_float_tiff_is_stretched_to_its_own_range_not_clipped_to_black():
    pixels = _pixels(float_tiff())
    assert pixels.min() == 0 and pixels.max() == 255


def test_palette_with_transparency_and_alpha_images_are_composited_on_black():
    rgba = noise(5, mode="RGBA")
    rgba.putpixel((0, 0), (200, 100, 50, 0))  # fully transparent
    assert tuple(_pixels(encoded(rgba))[0, 0]) == (0, 0, 0)
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    palette.info["transparency"] = 1
    assert tuple(_pixels(encoded(palette, transparency=1))[0, 0]) == (0, 0, 0)
    assert decode_image(encoded(Image.new("P", (4, 4), 0))).image.mode == "RGB"


def test_one_bit_and_greyscale_alpha_become_rgb():
    assert decode_image(encoded(noise(3).convert("1"))).image.mode == "RGB"
    assert decode_image(encoded(noise(3).convert("LA"))).image.mode == "RGB"
