"""Raster scenes through rasterio: which bands, how to make 8 bits of them, reading windows.

Which windows are chips is ``indexer.chip_grid``; the options, ``indexer.raster_options``.

A scene (one file, or single-band files stacked as red, green, blue) is never read
whole. Two kinds of reads happen: one small decimated read for the per-band
percentile stretch (so every chip of a scene is stretched alike; remembered by the
scene's content, so querying one scene again skips it), and one windowed read per
chip. Chips are windows of the scene, recorded as such, not copies: the same window
can be read again later (``render_chip``) to show the chip.

Validity comes from GDAL's dataset mask (nodata value, alpha band or internal mask,
as the file declares) and, for floating point data, finiteness. Providers often ship
zero fill without declaring it (Landsat band files, many mosaics): when a file
declares no mask, a constant value that fills a good part of the scene's edge and is
its lowest value is taken as fill (``edge_fill``); ``nodata`` in the options names the
value outright. A pixel is fill when every band holds the fill value, as GDAL's
dataset mask treats nodata. Invalid pixels are left out of the stretch statistics and
painted black in the chip.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.io import DatasetReader, MemoryFile
from rasterio.windows import Window

from indexer.chip_grid import ChipWindow, refuse_chip_count, scene_sha256
from indexer.geo import acquisition_date, ground_resolution_m, sensor_name, sidecar_tags, window_footprint
from indexer.raster_options import RasterError, RasterOptions  # the names most callers import from here

# Plain pictures are opened on purpose too; the warning would only be noise. So would
# GDAL's per-open warnings about TIFF quirks it works around (one line per chip read).
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
if logging.getLogger("rasterio._env").level == logging.NOTSET:
    logging.getLogger("rasterio._env").setLevel(logging.ERROR)

RASTER_SUFFIXES = frozenset({".tif", ".tiff", ".jp2", ".img"})  # GeoTIFF, JPEG 2000 (Sentinel-2), ERDAS
STATS_SIDE = 1024  # longest side of the decimated read that the stretch statistics come from
# A decimated read touches every block of the level it reads (full resolution or an overview):
# past this many pixels there, the statistics come from STATS_WINDOWS^2 small windows instead,
# so a scene declaring 10^12 pixels costs what a small one does.
STATS_MAX_TOUCHED = 256 * 1024 * 1024
STATS_WINDOWS = 16
# Undeclared fill: the share of the scene's edge pixels one constant (lowest) value must cover.
EDGE_FILL_SHARE = 0.1
_RGB = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)


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
    fill: float | None  # value that marks fill beyond the file's own mask (given or found on the edge)
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
        tags = {**(sidecar_tags(files[0].path) if files[0].path else {}), **first.tags()}
        declares_mask = any(_declares_mask(dataset) for dataset in datasets)
        crs, transform = first.crs, first.transform
        width, height, driver = first.width, first.height, first.driver
    footprint = window_footprint(crs, transform, 0, 0, width, height)
    centre_lat = None if footprint is None else (footprint.bbox[1] + footprint.bbox[3]) / 2
    resolution_m = ground_resolution_m(crs, transform, centre_lat)
    refuse_chip_count(width, height, resolution_m, options)  # before a single pixel is read
    sha256 = scene_sha256([file.sha256() for file in files])
    fill, stretch = SCENE_STATISTICS.fill_and_stretch(sha256, layers, width, height, options, declares_mask)
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
        stretch=stretch,
        percentiles=options.stretch,
        fill=fill,
        sha256=sha256,
        byte_size=sum(file.byte_size for file in files),
        mtime=mtime,
        driver=driver,
        resolution_m=resolution_m,
        acquired=acquisition_date(name, tags),
        sensor=sensor_name(name, tags),
    )


def _declares_mask(src: DatasetReader) -> bool:
    """The file says which pixels are valid (nodata value, alpha band, internal mask)."""
    return any(flags != [MaskFlags.all_valid] for flags in src.mask_flag_enums)


def is_fill(values: np.ndarray, fill: float | None) -> np.ndarray:
    """(h, w) True where every band holds the fill value."""
    if fill is None:
        return np.zeros(values.shape[1:], dtype=bool)
    return (values == np.float32(fill)).all(axis=0)


def edge_fill(values: np.ndarray, valid: np.ndarray) -> float | None:
    """The undeclared fill value of a scene, if it has one, from a (decimated) read of it.

    Fill is one constant in every band, it is the scene's lowest value, and it covers a
    good share of the edge: rotated footprints leave it in the corners, mosaics along a
    side. Real dark ground rarely sits at exactly the lowest value in every band along
    the border, and when it does it is painted black either way.
    """
    edges = np.concatenate([values[:, 0, :], values[:, -1, :], values[:, :, 0], values[:, :, -1]], axis=1)
    edge_valid = np.concatenate([valid[0, :], valid[-1, :], valid[:, 0], valid[:, -1]])
    constant = edge_valid & (edges == edges[:1]).all(axis=0)
    if not constant.any() or not valid.any():
        return None
    candidates, counts = np.unique(edges[0][constant], return_counts=True)
    value = float(candidates[counts.argmax()])
    lowest = float(values[:, valid].min())
    if counts.max() < EDGE_FILL_SHARE * edges.shape[1] or value != lowest:
        return None
    return value


def read_layers(
    layers: Sequence[Layer],
    window: Window | None,
    out_shape: tuple[int, int],
    resampling: Resampling = Resampling.nearest,
    fill: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(values (bands, h, w) float32, valid (h, w) bool) of ``window`` read at ``out_shape``.

    Reads smaller than the window use the file's overviews where it has them (GDAL's
    choice for decimated reads); pixels holding ``fill`` in every band are invalid.
    """
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
    valid &= np.isfinite(values).all(axis=0) & ~is_fill(values, fill)
    return values, valid


def stats_sample(layers: Sequence[Layer], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The scene's pixels for its statistics: a decimated read of the whole scene (longest
    side ``STATS_SIDE``) or, where that would touch too many pixels (a scene declaring
    10^12 of them), windows spread over the scene, so memory stays flat in its size."""
    scale = max(width, height) / STATS_SIDE
    shape = (height, width) if scale <= 1 else (max(1, round(height / scale)), max(1, round(width / scale)))
    if pixels_touched(layers, width, height, scale) <= STATS_MAX_TOUCHED:
        return read_layers(layers, None, shape)
    return _sampled_windows(layers, width, height)


class SceneStatistics:
    """Each scene's fill value and stretch, remembered by its content for the next read of it.

    A query of a whole scene (an upload, ``rsclip search --image``, eval) would otherwise
    read and sort the stats sample on every request. The key is the scene's sha256 with
    everything else that shapes the numbers, so a changed file (other bytes, other hash)
    can never be given another version's statistics. Bounded: least recently used out.
    """

    def __init__(self, capacity: int = 256):
        self._capacity = capacity
        self._known: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # how many were worked out rather than remembered

    def fill_and_stretch(
        self, sha256: str, layers: Sequence[Layer], width: int, height: int, options: RasterOptions, declares_mask: bool
    ) -> tuple[float | None, tuple[tuple[float, float], ...]]:
        bands = tuple(layer.band for layer in layers)
        key = (sha256, bands, width, height, options.stretch, options.nodata, declares_mask)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return self._known[key]
        values, valid = stats_sample(layers, width, height)
        fill = options.nodata if options.nodata is not None or declares_mask else edge_fill(values, valid)
        result = fill, valid_stretch(values, valid & ~is_fill(values, fill), options.stretch)
        with self._lock:
            self.computed += 1
            self._known[key] = result
            while len(self._known) > self._capacity:
                self._known.popitem(last=False)
        return result


SCENE_STATISTICS = SceneStatistics()


def valid_stretch(
    values: np.ndarray, valid: np.ndarray, percentiles: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """Per-band value range for the 8-bit stretch, from the valid pixels only."""
    if not valid.any():
        raise RasterError("the scene has no valid pixels (all nodata)")
    ranges = []
    for band in values:
        low, high = (float(v) for v in np.percentile(band[valid], percentiles))
        if high <= low:  # a constant band: show it mid-grey rather than black
            low, high = low - 0.5, low + 0.5
        ranges.append((low, high))
    return tuple(ranges)


def pixels_touched(layers: Sequence[Layer], width: int, height: int, scale: float) -> int:
    """Pixels a read decimated by ``scale`` decodes: those of the coarsest overview GDAL may use
    (one no coarser than asked), else of the full resolution. Overviews are as declared by
    the file, so a hostile one cannot make this read large: only small counts pass."""
    with layers[0].file.open() as src:
        factors = [f for f in src.overviews(layers[0].band) if 1 < f <= max(scale, 1)]
        # An internal mask is a band of its own; its overviews may be missing: assume so.
        internal_mask = src.mask_flag_enums[layers[0].band - 1] == [MaskFlags.per_dataset]
    factor = 1 if internal_mask else max(factors, default=1)
    return (width // factor + 1) * (height // factor + 1)


def _sampled_windows(layers: Sequence[Layer], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Valid pixels of STATS_WINDOWS^2 windows on a regular grid: a few blocks read, however big the scene."""
    side = max(1, STATS_SIDE // STATS_WINDOWS)
    values, valid = [], []
    for row in range(STATS_WINDOWS):
        for column in range(STATS_WINDOWS):
            x = (width - side) * column // max(1, STATS_WINDOWS - 1)
            y = (height - side) * row // max(1, STATS_WINDOWS - 1)
            part, mask = read_layers(layers, Window(x, y, side, side), (side, side))
            values.append(part)
            valid.append(mask)
    return np.concatenate(values, axis=2), np.concatenate(valid, axis=1)


def to_rgb8(values: np.ndarray, valid: np.ndarray, stretch: Sequence[Sequence[float]]) -> np.ndarray:
    """(bands, h, w) values -> (h, w, 3) uint8: stretched, invalid pixels black, one band as grey."""
    channels = []
    for band, (low, high) in zip(values, stretch):
        scaled = (band - low) * (255.0 / (high - low))
        channels.append(np.clip(np.rint(np.nan_to_num(scaled)), 0, 255).astype(np.uint8))
    rgb = np.stack(channels * 3 if len(channels) == 1 else channels, axis=-1)
    rgb[~valid] = 0
    return rgb



def _resampling(chip: ChipWindow) -> Resampling:
    if chip.out_width < chip.width:
        return Resampling.average
    return Resampling.bilinear if chip.out_width > chip.width else Resampling.nearest


def read_chip(layers: Sequence[Layer], chip: ChipWindow, stretch, fill: float | None = None) -> tuple[np.ndarray, float]:
    """The chip as (h, w, 3) uint8 and the share of its pixels that are valid."""
    values, valid = read_layers(layers, chip.window, (chip.out_height, chip.out_width), _resampling(chip), fill)
    return to_rgb8(values, valid, stretch), float(valid.mean())
