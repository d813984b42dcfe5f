"""Peak server memory while 8 clients upload 40 MP query photos at once (issue 11).

Used by ``bench/load.py --upload-memory``: the pictures are as large as the default
upload limits allow (40 MP, under 20 MB): JPEGs and single-band float32 GeoTIFF-style
reflectance TIFFs, whose full-resolution decode would cost 160 MB each before any
conversion. The server's resident memory is sampled every 20 ms from /proc while the
uploads run; the figure is the peak above the idle server.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable

import httpx
import numpy as np

WIDTH, HEIGHT = 7300, 5479  # 39.996 MP, under the 40 MP default


def _scene(seed: int) -> np.ndarray:
    """Smooth land-like reflectance 0..1 (compresses well, so it fits the upload size limit)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    return 0.3 + 0.2 * np.sin(xx / (300 + 40 * seed)) * np.cos(yy / (200 + 30 * seed))


def float32_tiff(seed: int) -> bytes:
    from rasterio.io import MemoryFile

    values = np.round(_scene(seed) * 256) / 256  # quantised reflectance: deflate keeps it small
    with MemoryFile() as memory:
        with memory.open(driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype="float32", compress="deflate",
                         predictor=3, tiled=True) as dst:
            dst.write(values[np.newaxis].astype(np.float32))
        return memory.read()


def jpeg(seed: int) -> bytes:
    from PIL import Image

    grey = np.clip(_scene(seed) * 400, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.stack([grey, grey[::-1], 255 - grey], axis=-1)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def uploads(count: int = 8) -> list[tuple[str, bytes]]:
    """Half float32 TIFFs, half JPEGs, each 40 MP (two of each made, then repeated)."""
    made = [(f"reflectance-{n}.tif", float32_tiff(n)) if n % 2 == 0 else (f"photo-{n}.jpg", jpeg(n)) for n in range(4)]
    return [made[number % len(made)] for number in range(count)]


def peak_during_uploads(url: str, rss: Callable[[], int], files: list[tuple[str, bytes]], timeout: float = 600) -> dict:
    """Fire every upload at once at ``POST /search/image``; sample ``rss()`` until all answered."""
    idle = rss()
    peak = [idle]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)

    async def send_all() -> list[int]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answers = await asyncio.gather(*(
                client.post(f"{url}/search/image", files={"file": (name, data)}, data={"k": "3"}) for name, data in files
            ))
        return [answer.status_code for answer in answers]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        statuses = asyncio.run(send_all())
    finally:
        running.clear()
        sampler.join()
    return {
        "uploads": len(files),
        "megapixels_each": round(WIDTH * HEIGHT / 1e6, 1),
        "upload_bytes": [len(data) for _, data in files],
        "statuses": statuses,
        "seconds": round(time.monotonic() - started, 1),
        "idle_rss_mb": round(idle / 2**20),
        "peak_rss_mb": round(peak[0] / 2**20),
        "peak_above_idle_mb": round((peak[0] - idle) / 2**20),
    }
