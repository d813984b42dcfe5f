"""Raster scenes through rasterio: which bands, how to make 8 bits of them, which windows.

A scene (one file, or single-band files stacked as red, green, blue) is never read
whole. Two kinds of reads happen: one small decimated read for the per-band
percentile stretch (so every chip of a scene is stretched alike), and one windowed
read per chip. Chips are windows of the scene, recorded as such, not copies: the same
window can be read again later (``render_chip``) to show the chip.

Validity comes from GDAL's dataset mask (nodata value, alpha band or internal mask,
as the file declares) and, for floating point data, finiteness. Invalid pixels are
left out of the stretch statistics and painted black in the chip.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import warnings
import weakref
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.io import DatasetReader, MemoryFile
from rasterio.windows import Window

from indexer.geo import acquisition_date, ground_resolution_m, sensor_name, window_footprint

# Plain pictures are opened on purpose too; the warning would only be noise. So would
# GDAL's per-open warnings about TIFF quirks it works around (one line per chip read).
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
if logging.getLogger("rasterio._env").level == logging.NOTSET:
    logging.getLogger("rasterio._env").setLevel(logging.ERROR)

RASTER_SUFFIXES = frozenset({".tif", ".tiff", ".jp2", ".img"})  # GeoTIFF, JPEG 2000 (Sentinel-2), ERDAS
STATS_SIDE = 1024  # longest side of the decimated read that the stretch statistics come from
_RGB = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)


class RasterError(ValueError):
    """A raster that cannot be read as asked; the message says why."""


@dataclass(frozen=True)
class RasterOptions:
    """How scenes become chips. ``bands`` are 1-based band numbers, or band names with ``stack``."""

    bands: tuple[str, ...] | None = None
    chip_size: int = 256
    overlap: int = 0
    max_nodata: float = 0.5
    resample_to: float | None = None  # metres per pixel; None keeps the native resolution
    stretch: tuple[float, float] = (2.0, 98.0)  # percentiles mapped to 0 and 255
    stack: str | None = None  # file name pattern with {band}, e.g. "*_B{band}.TIF"

    def __post_init__(self):
        if self.chip_size < 16:
            raise ValueError("the chip size must be at least 16 pixels")
        if not 0 <= self.overlap < self.chip_size:
            raise ValueError("the overlap must be at least 0 and smaller than the chip size")
        if not 0.0 <= self.max_nodata <= 1.0:
            raise ValueError("the largest nodata share must be between 0 and 1")
        if self.resample_to is not None and not self.resample_to > 0:
            raise ValueError("the target resolution must be a positive number of metres")
        low, high = self.stretch
        if not 0.0 <= low < high <= 100.0:
            raise ValueError("the stretch needs two percentiles with 0 <= low < high <= 100")
        if self.bands is not None and len(self.bands) not in (1, 3):
            raise ValueError("give one band (shown as grey) or three (red, green, blue), e.g. 3,2,1")
        if self.stack is not None:
            if self.stack.count("{band}") != 1:
                raise ValueError("the stack pattern must contain {band} once, e.g. '*_B{band}.TIF'")
            if self.bands is None:
                raise ValueError("a band stack needs the bands to stack, red first, e.g. 4,3,2 for Landsat 8")
        elif self.bands is not None and not all(band.isdigit() and int(band) >= 1 for band in self.bands):
            raise ValueError("bands are numbers from 1, e.g. 3,2,1")


class RasterFile:
    """A raster's bytes: a path on disk (read window by window) or an archive member in memory."""

    def __init__(self, name: str, *, path: str | Path | None = None, data: bytes | None = None):
        if (path is None) == (data is None):
            raise ValueError("give a path or the bytes")
        self.name = name
        self.path = None if path is None else Path(path)
        self._data = data
        self._memory = None
        if data is not None:
            self._memory = MemoryFile(data, ext=PurePosixPath(name).suffix or ".tif")
            weakref.finalize(self, self._memory.close)  # frees the GDAL in-memory file with us

    def __reduce__(self):
        """Pickled as its path or its bytes (a Ray task reads chips in another process)."""
        return functools.partial(RasterFile, self.name, path=self.path, data=self._data), ()

    @classmethod
    def from_item(cls, item) -> "RasterFile":
        """From a ``SourceItem``: files on disk stay there, archive members come into memory."""
        if getattr(item, "path", None):
            return cls(item.member, path=item.path)
        return cls(item.member, data=item.read())

    def open(self) -> DatasetReader:
        """A new dataset handle; one per reader thread, since handles are not thread-safe."""
        try:
            return rasterio.open(self.path) if self.path is not None else self._memory.open()
        except RasterioError as exc:
            raise RasterError(f"cannot open as a raster: {exc}") from None

    def read_bytes(self) -> bytes:
        return self._data if self._data is not None else self.path.read_bytes()

    @property
    def byte_size(self) -> int:
        return len(self._data) if self._data is not None else self.path.stat().st_size

    def sha256(self) -> str:
        if self._data is not None:
            return hashlib.sha256(self._data).hexdigest()
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:  # streamed: scenes may be larger than memory
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


@dataclass(frozen=True)
class Layer:
    """One band of the picture: band ``band`` (1-based) of ``file``."""

    file: RasterFile
    band: int


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


@dataclass(frozen=True)
class Scene:
    source: str
    member: str  # the file the scene lives in (the red band's file for a stack)
    name: str  # what people call the scene: the file, or the stack's pattern
    layers: tuple[Layer, ...]  # red, green, blue; or one, shown as grey
    band_labels: str
    width: int
    height: int
    crs: CRS | None
    transform: Affine
    stretch: tuple[tuple[float, float], ...]  # value range per layer mapped onto 0..255
    percentiles: tuple[float, float]
    sha256: str
    byte_size: int
    mtime: float | None
    driver: str
    resolution_m: float | None
    acquired: date | None
    sensor: str | None


def is_raster_name(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix in RASTER_SUFFIXES


def needs_raster_reader(file: RasterFile) -> bool:
    """Georeferenced, multispectral or not 8-bit: ours. Plain 8-bit pictures stay with Pillow.

    Pillow shows an 8-bit RGB/RGBA/grey TIFF without georeferencing exactly as we
    would, and keeps such TIFFs one item, like any other photo.
    """
    try:
        with file.open() as src:
            georeferenced = src.crs is not None or bool(src.gcps[0]) or not src.transform.is_identity
            alpha_last = src.count == 4 and src.colorinterp[3] == ColorInterp.alpha
            return georeferenced or src.dtypes[0] != "uint8" or not (src.count <= 3 or alpha_last)
    except RasterError:
        return False  # not readable by rasterio: let Pillow try, and say why if it fails too


def choose_bands(src: DatasetReader, requested: Sequence[str] | None) -> tuple[int, ...]:
    """The asked bands; else those marked red, green, blue; else the first three; else one as grey."""
    if requested:
        bands = tuple(int(band) for band in requested)
        for band in bands:
            if not 1 <= band <= src.count:
                raise RasterError(f"band {band} was asked for, but the file has {src.count} band(s)")
        return bands
    interpretation = list(src.colorinterp)
    if all(colour in interpretation for colour in _RGB):
        return tuple(interpretation.index(colour) + 1 for colour in _RGB)
    colour_bands = [i for i, kind in enumerate(interpretation, start=1) if kind != ColorInterp.alpha] or [1]
    return tuple(colour_bands[:3]) if len(colour_bands) >= 3 else (colour_bands[0],)


def open_scene(
    source: str,
    name: str,
    files: Sequence[RasterFile],
    options: RasterOptions,
    *,
    mtime: float | None = None,
) -> Scene:
    """Describe a scene: one file with bands chosen, or one single-band file per colour."""
    with ExitStack() as opened:
        datasets = [opened.enter_context(file.open()) for file in files]
        first = datasets[0]
        if len(files) == 1:
            bands = choose_bands(first, None if options.stack else options.bands)
            layers = tuple(Layer(files[0], band) for band in bands)
            labels = ",".join(map(str, bands))
        else:
            for file, dataset in zip(files[1:], datasets[1:]):
                if (dataset.width, dataset.height, dataset.crs, dataset.transform) != (
                    first.width, first.height, first.crs, first.transform
                ):
                    raise RasterError(f"{file.name} is not on the same pixel grid as {files[0].name}")
            layers = tuple(Layer(file, 1) for file in files)
            labels = ",".join(options.bands or ())
        tags = first.tags()
        crs, transform = first.crs, first.transform
        width, height, driver = first.width, first.height, first.driver
    footprint = window_footprint(crs, transform, 0, 0, width, height)
    centre_lat = None if footprint is None else (footprint.bbox[1] + footprint.bbox[3]) / 2
    sha256 = scene_sha256([file.sha256() for file in files])
    return Scene(
        source=source,
        member=files[0].name,
        name=name,
        layers=layers,
        band_labels=labels,
        width=width,
        height=height,
        crs=crs,
        transform=transform,
        stretch=scene_stretch(layers, width, height, options.stretch),
        percentiles=options.stretch,
        sha256=sha256,
        byte_size=sum(file.byte_size for file in files),
        mtime=mtime,
        driver=driver,
        resolution_m=ground_resolution_m(crs, transform, centre_lat),
        acquired=acquisition_date(name, tags),
        sensor=sensor_name(name, tags),
    )


def read_layers(
    layers: Sequence[Layer],
    window: Window | None,
    out_shape: tuple[int, int],
    resampling: Resampling = Resampling.nearest,
) -> tuple[np.ndarray, np.ndarray]:
    """(values (bands, h, w) float32, valid (h, w) bool) of ``window`` read at ``out_shape``."""
    values = np.empty((len(layers), *out_shape), dtype=np.float32)
    valid = np.ones(out_shape, dtype=bool)
    files: dict[int, tuple[RasterFile, list[int]]] = {}
    for position, layer in enumerate(layers):
        files.setdefault(id(layer.file), (layer.file, []))[1].append(position)
    for file, positions in files.values():
        bands = [layers[position].band for position in positions]
        with file.open() as src:
            data = src.read(bands, window=window, out_shape=(len(bands), *out_shape), resampling=resampling)
            valid &= src.dataset_mask(window=window, out_shape=out_shape) > 0
        values[positions] = data
    valid &= np.isfinite(values).all(axis=0)
    return values, valid


def scene_stretch(
    layers: Sequence[Layer], width: int, height: int, percentiles: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """Per-band value range for the 8-bit stretch, from valid pixels of a decimated read."""
    scale = max(width, height) / STATS_SIDE
    shape = (height, width) if scale <= 1 else (max(1, round(height / scale)), max(1, round(width / scale)))
    values, valid = read_layers(layers, None, shape)
    if not valid.any():
        raise RasterError("the scene has no valid pixels (all nodata)")
    ranges = []
    for band in values:
        low, high = (float(v) for v in np.percentile(band[valid], percentiles))
        if high <= low:  # a constant band: show it mid-grey rather than black
            low, high = low - 0.5, low + 0.5
        ranges.append((low, high))
    return tuple(ranges)


def to_rgb8(values: np.ndarray, valid: np.ndarray, stretch: Sequence[Sequence[float]]) -> np.ndarray:
    """(bands, h, w) values -> (h, w, 3) uint8: stretched, invalid pixels black, one band as grey."""
    channels = []
    for band, (low, high) in zip(values, stretch):
        scaled = (band - low) * (255.0 / (high - low))
        channels.append(np.clip(np.rint(np.nan_to_num(scaled)), 0, 255).astype(np.uint8))
    rgb = np.stack(channels * 3 if len(channels) == 1 else channels, axis=-1)
    rgb[~valid] = 0
    return rgb


def chip_grid(scene: Scene, options: RasterOptions) -> list[ChipWindow]:
    """Windows of ``chip_size`` output pixels every ``chip_size - overlap``; the last row and
    column are moved back to end flush with the scene, so every chip is whole."""
    factor = 1.0
    if options.resample_to is not None:
        if scene.resolution_m is None:
            raise RasterError("cannot resample to a ground resolution: the file has no georeferencing")
        factor = options.resample_to / scene.resolution_m
    size = max(1, round(options.chip_size * factor))
    stride = max(1, round((options.chip_size - options.overlap) * factor))
    chips = []
    for y in _starts(scene.height, size, stride):
        for x in _starts(scene.width, size, stride):
            width, height = min(size, scene.width - x), min(size, scene.height - y)
            chips.append(ChipWindow(x, y, width, height, _out_size(width, size, options), _out_size(height, size, options)))
    return chips


def _out_size(native: int, window: int, options: RasterOptions) -> int:
    """Whole windows come out at exactly the chip size (the rounded native window must not
    make 270 px chips); a scene smaller than one window keeps its share of it."""
    return options.chip_size if native == window else max(1, round(options.chip_size * native / window))


def _starts(length: int, size: int, stride: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def chip_sha256(scene: Scene, chip: ChipWindow) -> str:
    """Identity of a chip: the scene's content plus everything that shapes its pixels."""
    return chip_fingerprint(
        scene.sha256,
        [layer.band for layer in scene.layers],
        (chip.x, chip.y, chip.width, chip.height),
        (chip.out_width, chip.out_height),
        scene.percentiles,
    )


def chip_fingerprint(scene_sha256: str, bands, window, out_size, percentiles) -> str:
    """The hash behind :func:`chip_sha256`, from its parts (so a stored chip can be checked)."""
    recipe = {
        "scene": scene_sha256,
        "bands": list(bands),
        "window": list(window),
        "out": list(out_size),
        "stretch": list(percentiles),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def scene_sha256(file_hashes: Sequence[str]) -> str:
    """A scene's content hash from its files' (one file, or a band stack's files in order)."""
    if len(file_hashes) == 1:
        return file_hashes[0]
    return hashlib.sha256("".join(file_hashes).encode()).hexdigest()


def _resampling(chip: ChipWindow) -> Resampling:
    if chip.out_width < chip.width:
        return Resampling.average
    return Resampling.bilinear if chip.out_width > chip.width else Resampling.nearest


def read_chip(layers: Sequence[Layer], chip: ChipWindow, stretch) -> tuple[np.ndarray, float]:
    """The chip as (h, w, 3) uint8 and the share of its pixels that are valid."""
    values, valid = read_layers(layers, chip.window, (chip.out_height, chip.out_width), _resampling(chip))
    return to_rgb8(values, valid, stretch), float(valid.mean())
