"""From an input to raster chips: which inputs are scenes, which chips they have, and
what each chip is as a catalog item (its pixels, identity and geo metadata).

The pipeline asks ``indexer.imagery.scene_of`` about every input; a scene is cut into planned chips
(:func:`plan_chips`, cheap: no pixels read), and each chip is read on a worker thread
(:func:`read_chip_item`), which drops it when it is mostly nodata. Later,
:func:`render_chip` reads a stored chip's window again to show it.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from rasterio.errors import RasterioError

from indexer.geo import window_footprint
from indexer.chip_grid import ChipWindow, chip_fingerprint, chip_sha256, iter_chip_grid, scene_sha256
from indexer.raster import Layer, RasterError, RasterFile, RasterOptions, Scene, read_chip
from indexer.limits import InputRefused
from indexer.names import location
from indexer.sources import ContentChangedError, MemberNotFoundError, open_regular, read_member, resolve_inside
from storage import GeoInfo, NewImage


@dataclass(frozen=True)
class PlannedChip:
    scene: Scene
    window: ChipWindow
    sha256: str


def plan_chips(scene: Scene, options: RasterOptions) -> Iterator[PlannedChip]:
    """The scene's chips, one at a time (a scene may have up to ``options.max_chips``)."""
    for window in iter_chip_grid(scene, options):
        yield PlannedChip(scene, window, chip_sha256(scene, window))


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
        scene_sha256=scene.sha256,
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
    The scene's files are first checked against the fingerprint recorded at indexing
    (see :func:`verified_scene`), and the pixels are read through the same open files
    that were hashed, so nothing but the indexed content is ever rendered.

    Raises ``RasterError`` for records that are no raster chip, ``MemberNotFoundError``
    (a ``FileNotFoundError``) when the scene file or archive member is gone or refused,
    and ``ContentChangedError`` when it now holds other content.
    """
    geo = record.geo
    if geo is None or not geo.layers:
        raise RasterError(f"image {record.id} is no raster chip")
    with ExitStack() as opened:
        files = verified_scene(record, opened)
        layers = [Layer(files[member], band) for member, band in geo.layers]
        chip = ChipWindow(*geo.window, record.width, record.height)
        try:
            rgb, _ = read_chip(layers, chip, geo.stretch, geo.fill)
        except (RasterError, RasterioError) as exc:  # verified bytes that no longer read as before
            raise ContentChangedError(f"{location(record.source, record.member)} cannot be read as indexed: {exc}") from None
    return Image.fromarray(rgb, "RGB")


def chip_png(record) -> bytes:
    """The stored chip as PNG bytes (what ``GET /images/{id}`` serves for a chip)."""
    buffer = io.BytesIO()
    render_chip(record).save(buffer, format="PNG")
    return buffer.getvalue()


def verified_scene(record, opened: ExitStack) -> dict[str, RasterFile]:
    """The chip's scene files, open, provided they still hold the content that was indexed.

    New chips record their scene's sha256 (``geo.scene_sha256``); chips indexed before
    that are checked by recomputing their own sha256 from the scene with the default
    stretch. Files on disk stay open (``opened`` closes them) and are read through
    their descriptors, so a file swapped after the check is not the one read.
    """
    geo = record.geo
    files: dict[str, RasterFile] = {}
    hashes: list[str] = []
    for member, _band in geo.layers:
        if member not in files:
            files[member], digest = _open_scene_file(record.source, member, opened)
            hashes.append(digest)
    content = scene_sha256(hashes)
    if geo.scene_sha256 is not None:
        same = content == geo.scene_sha256
    else:
        bands = [band for _member, band in geo.layers]
        out_size = (record.width, record.height)
        same = chip_fingerprint(content, bands, geo.window, out_size, RasterOptions().stretch) == record.sha256
    if not same:
        raise ContentChangedError(
            f"{location(record.source, record.member)} changed since it was indexed "
            f"(its content no longer matches the catalog): run `rsclip index` on it again"
        )
    return files


def _open_scene_file(source: str, member: str, opened: ExitStack) -> tuple[RasterFile, str]:
    """One scene file, open, and its sha256: an archive member in memory, a file on disk by descriptor."""
    folder = Path(source)
    if not folder.is_dir():
        data = read_member(source, member)
        return RasterFile(member, data=data), hashlib.sha256(data).hexdigest()
    parts = PurePosixPath(member).parts
    if ".." in parts or PurePosixPath(member).is_absolute():
        raise MemberNotFoundError(f"refusing {member!r}: not a path inside {source}")
    path = folder.joinpath(*parts)
    try:
        fd = open_regular(resolve_inside(path, folder))
    except InputRefused as refused:
        raise MemberNotFoundError(f"cannot read {location(source, member)}: {refused.reason}") from None
    except OSError as exc:
        raise MemberNotFoundError(f"{location(source, member)} is gone: {exc.strerror or exc}") from None
    opened.callback(os.close, fd)
    return RasterFile(member, path=descriptor_path(fd)), _FILE_HASHES.sha256(fd)


def descriptor_path(fd: int) -> str:
    """A path that opens the very file behind ``fd`` again (GDAL wants a name, not a descriptor)."""
    return f"/proc/self/fd/{fd}" if Path("/proc/self/fd").is_dir() else f"/dev/fd/{fd}"


class FileHashes:
    """sha256 of open files, remembered by what identifies one version of a file.

    Hashing a multi-gigabyte scene for every chip request would be ruinous; a file's
    (device, inode, size, mtime, ctime) changes whenever its content can have, and
    ctime cannot be set back by a user, so a remembered hash is never stale.
    """

    def __init__(self, capacity: int = 4096):
        self._capacity = capacity
        self._known: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    def sha256(self, fd: int) -> str:
        status = os.fstat(fd)
        key = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return self._known[key]
        digest = hashlib.sha256()
        offset = 0
        while block := os.pread(fd, 1 << 20, offset):  # streamed: scenes may be larger than memory
            digest.update(block)
            offset += len(block)
        with self._lock:
            self._known[key] = digest.hexdigest()
            while len(self._known) > self._capacity:
                self._known.popitem(last=False)
        return digest.hexdigest()


_FILE_HASHES = FileHashes()
