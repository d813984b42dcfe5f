"""Uploaded photos: bounded reads, decoding, and the "upload or indexed id" choice.

Size is checked while reading, so an oversized upload is refused with 413 and never
decoded. Reading is the indexer's own (``indexer.imagery.query_image``), so a query
is seen exactly as an indexed item: a photo decoded alike, a GeoTIFF that fits in one
chip read as that chip, a bigger scene read whole at the model's input size with the
index's bands, fill mask and stretch; the answer's ``query`` says which. A photo is
decoded at the size the model needs (``QUERY_SIDE``; see ``indexer.decode``), and at
most ``UPLOAD_DECODES`` uploads are read and decoded at once, whatever the number of
model slots: peak memory per upload is its bytes plus a few tens of MB, not a
full-resolution float copy.
"""

from __future__ import annotations

import threading

import numpy as np
from fastapi import UploadFile

from indexer.imagery import ModelImage, input_file, query_image
from service.searcher import Searcher
from search_api.errors import BadRequestError, UploadTooLargeError
from search_api.settings import ApiSettings

QUERY_SIDE = 1024  # longest side a query photo is decoded at (the model then sees 224-384 px)
UPLOAD_DECODES = 2  # uploads read into memory and decoded at once, in this process
_decoding = threading.BoundedSemaphore(UPLOAD_DECODES)


def upload_bytes(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError(f"the upload is larger than the limit of {limit:,} bytes")
    return data


def upload_image(upload: UploadFile, settings: ApiSettings, model_size: int) -> ModelImage:
    with _decoding:  # the bytes are read inside too: they are most of an upload's memory
        data = upload_bytes(upload, settings.max_upload_bytes)
        file = input_file(upload.filename or "upload", data=data)
        return query_image(file, model_size=model_size, max_pixels=settings.max_upload_pixels, longest_side=QUERY_SIDE)


def query_image_vector(
    searcher: Searcher, upload: UploadFile | None, image_id: int | None, settings: ApiSettings
) -> tuple[np.ndarray, str | None]:
    """The vector of the one image a request names (an uploaded file or an indexed id), and
    how an upload was read (None for an indexed id)."""
    if (upload is None) == (image_id is None):
        raise BadRequestError("give exactly one image: a file upload ('file') or an indexed 'image_id'")
    if image_id is not None:
        return searcher.indexed_vector(image_id), None
    picture = upload_image(upload, settings, searcher.encoder.spec.image_size)
    return searcher.encoder.encode_images([picture.image])[0], picture.reading
