"""How fast are place/time filtered searches on a large index? Prints figures, asserts nothing.

    .venv/bin/python bench/geo_filters.py [ITEMS] [DIMENSION]

Builds a throwaway store of ITEMS chips (default 100,000, 256-d) spread over a
100 x 50 degree area and ten years, then times, per filter selectivity: the SQL that
finds the matching ids, and the FAISS search restricted to them, against the plain search.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta

import numpy as np

from storage import GeoInfo, ModelIdentity, NewImage, SearchFilters, Store


def build(folder: str, items: int, dimension: int) -> None:
    rng = np.random.default_rng(0)
    with Store(folder, writable=True) as store:
        store.bind_model(ModelIdentity("bench", "0" * 64, dimension))
        for start in range(0, items, 10_000):
            count = min(10_000, items - start)
            lons, lats = rng.uniform(-100, 0, count), rng.uniform(0, 50, count)
            days = rng.integers(0, 3650, count)
            images = [
                NewImage("/bench", f"s{i // 100}.tif", f"{start + i:064x}", 1, 256, 256, "GTiff", geo=GeoInfo(
                    scene=f"s{i // 100}.tif", layers=(("s.tif", 1),), window=(0, 0, 256, 256), stretch=((0.0, 1.0),),
                    bands="1", crs="EPSG:4326", bbox=(lon, lat, lon + 0.02, lat + 0.02),
                    footprint=None, acquired=date(2015, 1, 1) + timedelta(days=int(day)),
                ))
                for i, (lon, lat, day) in enumerate(zip(lons, lats, days))
            ]
            vectors = rng.normal(size=(count, dimension)).astype(np.float32)
            store.add(images, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        store.save()


def timed(action, repeat: int = 5) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best * 1000, result


def main() -> None:
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    dimension = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        build(folder, items, dimension)
        print(f"built {items:,} items ({dimension}-d) in {time.perf_counter() - started:.1f} s")
        query = np.random.default_rng(1).normal(size=dimension).astype(np.float32)
        with Store(folder) as store:
            plain_ms, _ = timed(lambda: store.search(query, k=10))
            print(f"unfiltered search k=10: {plain_ms:.1f} ms")
            cases = {
                "bbox 1x1 deg": SearchFilters(bbox=(-50.0, 20.0, -49.0, 21.0)),
                "bbox 10x10 deg": SearchFilters(bbox=(-50.0, 20.0, -40.0, 30.0)),
                "one year": SearchFilters(date_from=date(2018, 1, 1), date_to=date(2018, 12, 31)),
                "bbox 30x30 + 5 years": SearchFilters(
                    bbox=(-60.0, 10.0, -30.0, 40.0), date_from=date(2016, 1, 1), date_to=date(2020, 12, 31)
                ),
            }
            for name, filters in cases.items():
                sql_ms, ids = timed(lambda: store.matching_ids(filters))
                search_ms, hits = timed(lambda: store.search(query, k=10, filters=filters))
                print(
                    f"{name:>22}: {len(ids):>7,} match; SQL {sql_ms:7.1f} ms; "
                    f"filtered search k=10 {search_ms:7.1f} ms total; {len(hits[0])} hits"
                )


if __name__ == "__main__":
    main()
