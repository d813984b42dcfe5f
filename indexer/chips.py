"""From an input to raster chips: which inputs are scenes, which chips they have, and
what each chip is as a catalog item (its pixels, identity and geo metadata).

The pipeline asks ``indexer.imagery.scene_of`` about every input; a scene is cut into planned chips
(:func:`plan_chips`, cheap: no pixels read), and each chip is read on a worker thread
(:func:`read_chip_item`), which drops it when it is mostly nodata. Later,
:func:`render_chip` reads a stored chip's window again to show it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from indexer.geo import window_footprint
from indexer.raster import (
    ChipWindow,
    Layer,
    RasterError,
    RasterFile,
    RasterOptions,
    Scene,
    chip_grid,
    chip_sha256,
    read_chip,
)
from storage import GeoInfo, NewImage


@dataclass(frozen=True)
class PlannedChip:
    scene: Scene
    window: ChipWindow
    sha256: str


def plan_chips(scene: Scene, options: RasterOptions) -> list[PlannedChip]:
    return [PlannedChip(scene, window, chip_sha256(scene, window)) for window in chip_grid(scene, options)]


def read_chip_item(chip: PlannedChip, max_nodata: float) -> tuple[NewImage, np.ndarray] | None:
    """The chip's catalog item and (h, w, 3) uint8 pixels, or None when it is mostly nodata."""
    scene, window = chip.scene, chip.window
    rgb, valid_share = read_chip(scene.layers, window, scene.stretch, scene.fill)
    if 1.0 - valid_share > max_nodata:
        return None
    return chip_item(chip), rgb


def chip_item(chip: PlannedChip) -> NewImage:
    scene, window = chip.scene, chip.window
    footprint = window_footprint(scene.crs, scene.transform, window.x, window.y, window.width, window.height)
    resolution = None if scene.resolution_m is None else scene.resolution_m * window.width / window.out_width
    geo = GeoInfo(
        scene=scene.name,
        layers=tuple((layer.file.name, layer.band) for layer in scene.layers),
        window=(window.x, window.y, window.width, window.height),
        stretch=scene.stretch,
        fill=scene.fill,
        bands=scene.band_labels,
        crs=None if scene.crs is None else scene.crs.to_string(),
        bbox=None if footprint is None else footprint.bbox,
        footprint=None if footprint is None else footprint.corners,
        resolution_m=resolution,
        acquired=scene.acquired,
        sensor=scene.sensor,
    )
    return NewImage(
        source=scene.source,
        member=scene.member,
        sha256=chip.sha256,
        byte_size=scene.byte_size,
        width=window.out_width,
        height=window.out_height,
        format=scene.driver,
        mtime=scene.mtime,
        geo=geo,
    )


# -- showing a stored chip ---------------------------------------------------------
def render_chip(record) -> Image.Image:
    """Read a stored chip's window again and stretch it as at indexing time.

    ``record`` is a ``storage.ImageRecord`` whose ``geo`` came from a raster scene.
    Raises ``RasterError`` for records that are no raster chip, ``MemberNotFoundError``
    (a ``FileNotFoundError``) when the scene file or archive member is gone.
    """
    geo = record.geo
    if geo is None or not geo.layers:
        raise RasterError(f"image {record.id} is no raster chip")
    files: dict[str, RasterFile] = {}
    for member, _band in geo.layers:
        if member not in files:
            files[member] = _scene_file(record.source, member)
    layers = [Layer(files[member], band) for member, band in geo.layers]
    chip = ChipWindow(*geo.window, record.width, record.height)
    rgb, _ = read_chip(layers, chip, geo.stretch, geo.fill)
    return Image.fromarray(rgb, "RGB")


def chip_png(record) -> bytes:
    """The stored chip as PNG bytes (what ``GET /images/{id}`` serves for a chip)."""
    buffer = io.BytesIO()
    render_chip(record).save(buffer, format="PNG")
    return buffer.getvalue()


def _scene_file(source: str, member: str) -> RasterFile:
    from indexer.sources import MemberNotFoundError, location, read_member

    folder = Path(source)
    if not folder.is_dir():
        return RasterFile(member, data=read_member(source, member))
    parts = PurePosixPath(member).parts
    path = folder.joinpath(*parts)
    if ".." in parts or PurePosixPath(member).is_absolute() or not path.is_file():
        raise MemberNotFoundError(f"{location(source, member)} is gone (or not inside {source})")
    return RasterFile(member, path=path)  # windowed reads straight from disk
