"""Does a scene larger than the memory it may use index in bounded memory? Prints figures.

    .venv/bin/python bench/large_scene.py [SIDE]

Writes a SIDE x SIDE, 3-band uint16 tiled, deflate-compressed GeoTIFF window by window
(default 8000: 384 MB of pixels uncompressed, a few MB on disk), indexes it with a tiny
random checkpoint, and reports the chips made, the time, and how much the peak resident
memory grew compared with the raw pixel size. GDAL keeps decoded blocks in its cache
(GDAL_CACHEMAX, by default 5 % of RAM): run with GDAL_CACHEMAX=64 to see the bound.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_scene(path: Path, side: int) -> None:
    profile = dict(
        driver="GTiff", width=side, height=side, count=3, dtype="uint16", crs="EPSG:32633",
        transform=from_origin(500_000, 5_000_000, 10, 10), tiled=True, blockxsize=512, blockysize=512,
        compress="deflate", nodata=0,
    )
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, side, 512):
            height = min(512, side - row)
            yy, xx = np.mgrid[row : row + height, 0:side]
            band = (3000 + 1500 * np.sin(xx / 97.0) * np.cos(yy / 131.0)).astype(np.uint16)
            dst.write(np.stack([band, band // 2 + 500, band // 3 + 900]), window=Window(0, row, side, height))


def main() -> None:
    from encoder import load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip
    from indexer import IndexRun
    from service.searcher import model_identity
    from storage import Store

    side = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_scene(folder / "big.tif", side)
        encoder = load_encoder(str(build_tiny_siglip(folder / "tiny", hidden_size=64, image_size=32, patch_size=8)))
        raw_mb = side * side * 3 * 2 / 2**20
        print(f"scene {side}x{side}x3 uint16: {raw_mb:.0f} MB of pixels, {(folder / 'big.tif').stat().st_size / 2**20:.1f} MB on disk")
        before = peak_rss_mb()
        started = time.perf_counter()
        with Store(folder / "data", writable=True) as store:
            store.bind_model(model_identity(encoder))
            report = IndexRun(store, encoder, progress=False).run([folder / "big.tif"])
        seconds = time.perf_counter() - started
        print(f"{report.added} chips in {seconds:.1f} s ({report.added / seconds:.1f} chips/s), {report.failed} failed")
        print(f"peak resident memory: {before:.0f} MB before, {peak_rss_mb():.0f} MB after (+{peak_rss_mb() - before:.0f} MB)")


if __name__ == "__main__":
    main()
