"""Decoding turns any supported bytes into an upright RGB picture, or says why not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from indexer.decode import DecodeError, decode_image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "BMP"])
def test_each_supported_format_decodes_to_rgb(make_image, fmt):
    decoded = decode_image(_encode(make_image(1, size=(40, 30)), fmt))
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (40, 30)
    assert decoded.format == fmt


def test_exif_orientation_is_applied(make_image):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    decoded = decode_image(_encode(make_image(2, size=(40, 30)), "JPEG", exif=exif))
    assert (decoded.width, decoded.height) == (30, 40)


def test_alpha_and_greyscale_become_rgb(make_image):
    assert decode_image(_encode(make_image(3, mode="RGBA"), "PNG")).image.mode == "RGB"
    assert decode_image(_encode(make_image(3, mode="L"), "PNG")).image.mode == "RGB"


def test_sixteen_bit_greyscale_keeps_its_contrast():
    ramp = (np.linspace(0, 65535, 64 * 16).reshape(16, 64)).astype(np.uint16)
    decoded = decode_image(_encode(Image.fromarray(ramp), "PNG"))
    values = np.asarray(decoded.image)[..., 0]
    assert values.min() < 10 and values.max() > 245


def test_corrupt_bytes_name_the_problem():
    with pytest.raises(DecodeError, match="not a recognised image"):
        decode_image(b"this is text with a .jpg name")


def test_truncated_image_is_a_decode_error(make_image):
    data = _encode(make_image(4, size=(200, 200)), "PNG")
    with pytest.raises(DecodeError):
        decode_image(data[: len(data) // 2])


def test_empty_file_is_a_decode_error():
    with pytest.raises(DecodeError, match="empty"):
        decode_image(b"")


def test_images_over_the_pixel_limit_are_refused_before_decoding(make_image):
    with pytest.raises(DecodeError, match="over the limit"):
        decode_image(_encode(make_image(5, size=(100, 100)), "PNG"), max_pixels=5_000)


def test_a_query_jpeg_is_decoded_scaled_down_but_never_below_the_size_asked():
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(buffer, "JPEG")
    decoded = decode_image(buffer.getvalue(), longest_side=1024)
    assert 1024 <= max(decoded.image.size) < 2048 and decoded.image.size[0] > decoded.image.size[1]
