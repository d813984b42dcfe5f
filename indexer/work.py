"""Work units: what the driver of an index run hands to an executor, and the step that
prepares one (read, hash, decode or render, preprocess) wherever it runs.

The driver (``indexer.pipeline``) walks the inputs and decides what to do with each
one; what is left to do is a unit here: a picture (bytes the driver read, or a file on
disk that whoever prepares it reads and hashes), a raster chip (a window of a scene),
or a stored image to embed again (reindex). Units are plain, picklable data, so a
thread pool on this machine and a Ray cluster prepare them with the same function.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from indexer.chips import PlannedChip, read_chip_item
from indexer.decode import DEFAULT_MAX_PIXELS, DecodeError, decode_image
from indexer.limits import FailureKind, InputLimits, InputRefused, read_capped
from indexer.raster import RasterError
from storage import NewImage

Preprocess = Callable[[Image.Image], np.ndarray]  # a picture -> the model's (3, H, W) input


@dataclass(frozen=True)
class PrepareOptions:
    """What preparing a unit needs besides the unit and the model's preprocessing."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_nodata: float = 1.0
    limits: InputLimits = InputLimits()


@dataclass(frozen=True)
class PictureWork:
    """A picture to decode. The driver read an archive member (``data``, ``sha256``); a file
    on disk (``path``) is read and hashed by whoever prepares it, so the driver never has to."""

    source: str
    member: str
    mtime: float | None
    data: bytes | None = None
    sha256: str | None = None
    path: str | None = None
    replaces: bool = False  # the file held other content before


@dataclass(frozen=True)
class ChipWork:
    """A raster chip: a window of a scene, read where it is prepared."""

    chip: PlannedChip
    max_nodata: float
    replaces: bool = False

    @property
    def source(self) -> str:
        return self.chip.scene.source

    @property
    def member(self) -> str:
        return self.chip.scene.name


@dataclass(frozen=True)
class StoredWork:
    """A stored image to embed again (reindex): ``load`` gives its picture back (a picklable callable)."""

    image: object  # storage.ImageRecord
    load: Callable[[], Image.Image]
    replaces: bool = False

    @property
    def source(self) -> str:
        return self.image.source

    @property
    def member(self) -> str:
        return self.image.member


Work = PictureWork | ChipWork | StoredWork


def prepare(work: Work, preprocess: Preprocess, options: PrepareOptions) -> tuple[object, np.ndarray] | None:
    """The unit's record and model input, or None for a chip that is mostly nodata.

    Raises what reading or decoding raised; :func:`failure_of` names it.
    """
    if isinstance(work, ChipWork):
        result = read_chip_item(work.chip, work.max_nodata)
        if result is None:
            return None
        record, rgb = result
        return record, preprocess(Image.fromarray(rgb, "RGB"))
    if isinstance(work, StoredWork):
        return work.image, preprocess(work.load())
    data = work.data if work.data is not None else read_file(work.path, options.limits)
    sha256 = work.sha256 or hashlib.sha256(data).hexdigest()
    decoded = decode_image(data, max_pixels=options.max_pixels)
    record = NewImage(
        source=work.source,
        member=work.member,
        sha256=sha256,
        byte_size=len(data),
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        mtime=work.mtime,
    )
    return record, preprocess(decoded.image)


def read_file(path: str, limits: InputLimits) -> bytes:
    """A regular file's bytes, held to ``limits`` (a file that grew past them is refused)."""
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise InputRefused(FailureKind.SPECIAL_FILE, "not a regular file (device, FIFO or socket): not read")
    refusal = limits.refuse_size(status.st_size)
    if refusal is not None:
        raise refusal
    with open(path, "rb") as handle:
        return read_capped(handle, limits.max_file_bytes)


def failure_of(exc: BaseException) -> tuple[str, str]:
    """(reason, kind) for what preparing a unit raised."""
    if isinstance(exc, DecodeError):
        return str(exc), exc.kind
    if isinstance(exc, RasterError):
        return str(exc), FailureKind.RASTER
    if isinstance(exc, InputRefused):
        return exc.reason, exc.kind
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}", FailureKind.UNREADABLE
    return f"{type(exc).__name__}: {exc}", FailureKind.CORRUPT_IMAGE
