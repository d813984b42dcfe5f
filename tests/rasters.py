"""Write small GeoTIFFs with rasterio for the raster tests (no data files are shipped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.transform import from_origin

UTM_33N = "EPSG:32633"
UTM_ORIGIN = from_origin(500_000.0, 5_000_000.0, 10.0, 10.0)  # 10 m pixels near 45 N, 15 E


def textured(shape: tuple[int, ...], low: float, high: float, seed: int = 0, dtype="uint16") -> np.ndarray:
    """Smooth gradients plus noise between ``low`` and ``high``: looks like land, stretches well."""
    rng = np.random.default_rng(seed)
    bands, height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    planes = []
    for band in range(bands):
        wave = np.sin(xx / (17 + 5 * band)) * np.cos(yy / (23 + 3 * band))
        planes.append(0.5 + 0.35 * wave + rng.normal(0, 0.08, (height, width)))
    values = low + (high - low) * np.clip(np.stack(planes), 0, 1)
    return values.astype(dtype)


def write_geotiff(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = UTM_33N,
    transform: Affine = UTM_ORIGIN,
    nodata: float | None = None,
    colorinterp=None,
    tags: dict | None = None,
) -> Path:
    data = data if data.ndim == 3 else data[np.newaxis]
    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=data.dtype)
    if crs is not None:
        profile.update(crs=crs, transform=transform)
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if colorinterp is not None:
            dst.colorinterp = colorinterp
        if tags:
            dst.update_tags(**tags)
    return Path(path)


def index_into(data_dir: Path, encoder, paths, **raster_options):
    """Index ``paths`` with real parts; return (report, records sorted by id)."""
    from indexer import IndexRun
    from indexer.raster import RasterOptions
    from service.searcher import model_identity
    from storage import Store

    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        run = IndexRun(store, encoder, progress=False, raster=RasterOptions(**raster_options))
        report = run.run([str(path) for path in paths])
        records = store.get_many(list(range(1, store.count() + 1)))
    return report, [records[key] for key in sorted(records)]


def sparse_geotiff(path: Path, side: int, *, block: int = 4096, written: int = 64) -> Path:
    """A GeoTIFF declaring ``side`` x ``side`` px whose blocks are absent but one: a small file
    with a huge declared size (what an attacker sends; GDAL reads absent blocks as zeros)."""
    profile = dict(driver="GTiff", width=side, height=side, count=3, dtype="uint8", crs=UTM_33N, transform=UTM_ORIGIN,
                   tiled=True, blockxsize=block, blockysize=block, compress="deflate", sparse_ok=True, BIGTIFF="YES")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(textured((3, written, written), 20, 230, dtype="uint8"), window=rasterio.windows.Window(0, 0, written, written))
    return Path(path)


def provider_fill(data: np.ndarray, fill: float = 0, turn: float = 0.45) -> np.ndarray:
    """``data`` with ``fill`` outside a turned square footprint, as providers deliver a rotated
    scene (Landsat band files, mosaics): constant fill in the corners, no nodata tag."""
    _bands, height, width = data.shape
    yy, xx = np.mgrid[0:height, 0:width]
    u, v = (xx - width / 2) / (width / 2), (yy - height / 2) / (height / 2)
    inside = np.maximum(np.abs(u * np.cos(turn) + v * np.sin(turn)), np.abs(-u * np.sin(turn) + v * np.cos(turn))) < 0.8
    out = data.copy()
    out[:, ~inside] = fill
    return out


def landsat_like_stack(folder: Path, size: tuple[int, int] = (90, 100), seed: int = 0) -> list[Path]:
    """Single-band uint16 files ``LC08_TEST_B4/B3/B2.TIF`` on one grid: valid values 6000-14000,
    zero fill around a turned footprint, no nodata tag (how Landsat-8 band files come)."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = size
    bands = provider_fill(textured((3, height, width), 6000, 14000, seed=seed))
    return [write_geotiff(folder / f"LC08_TEST_B{band}.TIF", plane) for band, plane in zip((4, 3, 2), bands)]


STACK_FLAGS = ("--stack", "*_B{band}.TIF", "--bands", "4,3,2", "--chip-size", "128")


def one_chip_scenes(folder: Path) -> dict[str, Path]:
    """The same kinds of input every reading path is tested with, each one 128-px chip:
    a rotated 16-bit 3-band GeoTIFF with zero fill (no nodata tag), and a band stack."""
    folder.mkdir(parents=True, exist_ok=True)
    turned = Affine.rotation(20) @ Affine.scale(10, -10)
    rotated = write_geotiff(
        folder / "rotated16.tif",
        provider_fill(textured((3, 90, 100), 300, 9000, seed=3)),
        transform=Affine.translation(500_000.0, 5_000_000.0) @ turned,
    )
    stack = landsat_like_stack(folder / "stack", seed=4)
    return {"rotated": rotated, "stack": stack[0]}


def vectors_by_member(data_dir: Path) -> dict[str, np.ndarray]:
    """Indexed vectors keyed by the member (the red band's file for a stack)."""
    from storage import Store

    with Store(data_dir) as store:
        records = store.get_many(list(range(1, store.count() + 1)))
        return {record.member.rpartition("/")[2]: store.vector(record.id) for record in records.values()}
