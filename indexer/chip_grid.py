"""Which windows of a scene are its chips, and what identifies each chip.

Chips are windows of ``chip_size`` output pixels every ``chip_size - overlap`` (in
native pixels when resampling to a ground resolution); the last row and column end
flush with the scene. Everything here is arithmetic on the scene's size: no pixel is
read, so a header declaring 10^12 pixels is refused (``refuse_chip_count``) before
any read, and the grid is walked one window at a time (``iter_chip_grid``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rasterio.windows import Window

from indexer.limits import FailureKind, InputRefused
from indexer.raster_options import RasterError, RasterOptions

if TYPE_CHECKING:
    from indexer.raster import Scene


@dataclass(frozen=True)
class ChipWindow:
    """A window of the scene in native pixels and the size it is read at (differs when resampling)."""

    x: int
    y: int
    width: int
    height: int
    out_width: int
    out_height: int

    @property
    def window(self) -> Window:
        return Window(self.x, self.y, self.width, self.height)


def _window_and_stride(resolution_m: float | None, options: RasterOptions) -> tuple[int, int]:
    """Native pixels per chip window and between window starts (they differ when resampling)."""
    factor = 1.0
    if options.resample_to is not None:
        if resolution_m is None:
            raise RasterError("cannot resample to a ground resolution: the file has no georeferencing")
        factor = options.resample_to / resolution_m
    return max(1, round(options.chip_size * factor)), max(1, round((options.chip_size - options.overlap) * factor))


def chip_count(width: int, height: int, resolution_m: float | None, options: RasterOptions) -> int:
    """How many chips :func:`chip_grid` cuts a scene of this size into, by arithmetic alone."""
    size, stride = _window_and_stride(resolution_m, options)
    return _start_count(width, size, stride) * _start_count(height, size, stride)


def refuse_chip_count(width: int, height: int, resolution_m: float | None, options: RasterOptions) -> None:
    """A scene declaring more chips than ``options.max_chips`` is refused before anything is read:
    its header may declare 10^12 pixels in a file of a few kilobytes."""
    count = chip_count(width, height, resolution_m, options)
    if count > options.max_chips:
        raise InputRefused(
            FailureKind.TOO_MANY_CHIPS,
            f"a {width:,} x {height:,} px scene makes {count:,} chips, over the limit of {options.max_chips:,} "
            f"per scene (--max-chips-per-scene; a larger --chip-size makes fewer)",
        )


def chip_grid(scene: Scene, options: RasterOptions) -> list[ChipWindow]:
    """Windows of ``chip_size`` output pixels every ``chip_size - overlap``; the last row and
    column are moved back to end flush with the scene, so every chip is whole."""
    return list(iter_chip_grid(scene, options))


def iter_chip_grid(scene: Scene, options: RasterOptions) -> Iterator[ChipWindow]:
    """:func:`chip_grid` one window at a time: the same memory however many chips a scene has."""
    size, stride = _window_and_stride(scene.resolution_m, options)
    for y in _starts(scene.height, size, stride):
        for x in _starts(scene.width, size, stride):
            width, height = min(size, scene.width - x), min(size, scene.height - y)
            yield ChipWindow(x, y, width, height, _out_size(width, size, options), _out_size(height, size, options))


def _out_size(native: int, window: int, options: RasterOptions) -> int:
    """Whole windows come out at exactly the chip size (the rounded native window must not
    make 270 px chips); a scene smaller than one window keeps its share of it."""
    return options.chip_size if native == window else max(1, round(options.chip_size * native / window))


def _starts(length: int, size: int, stride: int) -> Iterator[int]:
    if length <= size:
        yield 0
        return
    last = 0
    for last in range(0, length - size + 1, stride):
        yield last
    if last + size < length:
        yield length - size


def _start_count(length: int, size: int, stride: int) -> int:
    if length <= size:
        return 1
    regular = (length - size) // stride + 1
    return regular + ((regular - 1) * stride + size < length)


def chip_sha256(scene: Scene, chip: ChipWindow) -> str:
    """Identity of a chip: the scene's content plus everything that shapes its pixels."""
    return chip_fingerprint(
        scene.sha256,
        [layer.band for layer in scene.layers],
        (chip.x, chip.y, chip.width, chip.height),
        (chip.out_width, chip.out_height),
        scene.percentiles,
        scene.fill,
    )


def chip_fingerprint(scene_sha256: str, bands, window, out_size, percentiles, fill: float | None = None) -> str:
    """The hash behind :func:`chip_sha256`, from its parts (so a stored chip can be checked)."""
    recipe = {
        "scene": scene_sha256,
        "bands": list(bands),
        "window": list(window),
        "out": list(out_size),
        "stretch": list(percentiles),
    }
    if fill is not None:  # fill changes the mask and the stretch: other pixels
        recipe["fill"] = fill
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def scene_sha256(file_hashes: Sequence[str]) -> str:
    """A scene's content hash from its files' (one file, or a band stack's files in order)."""
    if len(file_hashes) == 1:
        return file_hashes[0]
    return hashlib.sha256("".join(file_hashes).encode()).hexdigest()
