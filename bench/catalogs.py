"""The catalog on PostgreSQL vs SQLite at archive size: indexing and query figures side by side.

    .venv/bin/python -m bench.catalogs --database-url postgresql+psycopg://rsclip@/bench?host=/tmp/pg
    .venv/bin/python -m bench.catalogs --items 20000        # quicker (URL from $RSCLIP_TEST_POSTGRES_URL)

A throwaway server, as the tests use: ``bash -c 'source scripts/test-postgres.sh &&
start_test_postgres && trap stop_test_postgres EXIT && .venv/bin/python -m bench.catalogs'``.

The same synthetic collection (clustered unit vectors, records like an archive's) goes
into one store per engine, in the indexer's committed batches; the vector index is
exact (flat) in both, so what differs is the catalog alone. Figures:

- index: items/s of ``Store.add`` batches (rows + vectors committed, FAISS in memory),
  then the final FAISS save;
- open: a reader opening the index (FAISS file loaded, checked against the catalog);
- queries: a k=10 search with its metadata, the same with a source-prefix filter (SQL
  picks the allowed ids), one ``get``, and the follow check every API request may make
  (``current_version``: one small query).

Prints each figure for both engines and the ratio PostgreSQL / SQLite; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import Latency, section, settle, time_calls
from bench.synthetic import ClusteredVectors

BATCH = 256  # the indexer's commit batch for a CPU run (an order of magnitude of it)


@dataclass
class CatalogFigures:
    engine: str
    index_items_per_s: float
    save_seconds: float
    open_seconds: float
    search: Latency
    filtered_search: Latency
    get: Latency
    follow_check: Latency


def _records(start: int, count: int):
    from storage import NewImage

    return [
        NewImage(
            source=f"/archive/scenes-{i // 10_000:03d}.tar", member=f"tile_{i:07d}.tif", sha256=f"{i:064x}",
            byte_size=196_000, width=256, height=256, format="TIFF", mtime=1.7e9 + i,
        )
        for i in range(start, start + count)
    ]


def measure(engine: str, data_dir: Path, database_url: str | None, items: int, dimension: int, calls: int) -> CatalogFigures:
    from storage import ModelIdentity, SearchFilters, Store
    from storage.index_policy import IndexPolicy

    exact = IndexPolicy(exact_max_bytes=1 << 62)  # the same flat index for both: compare catalogs
    vectors = ClusteredVectors(dimension, seed=3)
    batches = list(vectors.chunks(items, chunk=BATCH))  # made before the clock starts
    settle()
    with Store(data_dir, database_url=database_url, writable=True, index_policy=exact) as store:
        store.bind_model(ModelIdentity("bench/synthetic", "b" * 64, dimension))
        started, done = time.perf_counter(), 0
        for chunk in batches:
            store.add(_records(done, len(chunk)), chunk)
            done += len(chunk)
        added = time.perf_counter() - started
        save_started = time.perf_counter()
        store.save()
        save_seconds = time.perf_counter() - save_started
    opened = time.perf_counter()
    store = Store(data_dir, database_url=database_url)
    open_seconds = time.perf_counter() - opened
    try:
        queries = vectors.sample(calls + 2, seed=99)
        prefix = SearchFilters(source="/archive/scenes-001.tar")
        rng = np.random.default_rng(5)
        ids = rng.integers(1, items + 1, calls + 2)
        return CatalogFigures(
            engine,
            items / added,
            save_seconds,
            open_seconds,
            search=time_calls(lambda i: store.search(queries[i], k=10), calls),
            filtered_search=time_calls(lambda i: store.search(queries[i], k=10, filters=prefix), calls),
            get=time_calls(lambda i: store.get(int(ids[i])), calls),
            follow_check=time_calls(lambda i: store.current_version(), calls),
        )
    finally:
        store.close()


def report(sqlite: CatalogFigures, postgres: CatalogFigures) -> list[str]:
    def row(name: str, lite: float, pg: float, unit: str) -> str:
        return f"{name:<26} {lite:10.1f} {pg:12.1f}  {unit:<7} {pg / lite:6.2f}x"

    lines = [f"{'':<26} {'SQLite':>10} {'PostgreSQL':>12}  {'':<7} PG/SQLite"]
    lines.append(row("index (Store.add batches)", sqlite.index_items_per_s, postgres.index_items_per_s, "items/s"))
    lines.append(row("final FAISS save", sqlite.save_seconds, postgres.save_seconds, "s"))
    lines.append(row("reader open", sqlite.open_seconds, postgres.open_seconds, "s"))
    for name in ("search", "filtered_search", "get", "follow_check"):
        lite, pg = getattr(sqlite, name), getattr(postgres, name)
        lines.append(row(f"{name.replace('_', ' ')} p50", lite.p50_ms, pg.p50_ms, "ms"))
        lines.append(row(f"{name.replace('_', ' ')} p95", lite.p95_ms, pg.p95_ms, "ms"))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalogs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="catalog size (100000)")
    parser.add_argument("--dimension", type=int, default=1024, help="vector dimension (1024, as Git-RSCLIP)")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per query kind (200)")
    parser.add_argument("--database-url", default=os.environ.get("RSCLIP_TEST_POSTGRES_URL"), help="an empty PostgreSQL database")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or set RSCLIP_TEST_POSTGRES_URL): see this module's docstring")
    with tempfile.TemporaryDirectory(prefix="rsclip-bench-catalogs-") as work:
        figures = {}
        for engine, url in (("sqlite", None), ("postgresql", args.database_url)):
            section(f"catalog on {engine}: {args.items:,} items of {args.dimension}-d, batches of {BATCH}")
            figures[engine] = measure(engine, Path(work) / engine, url, args.items, args.dimension, args.calls)
            print(f"   indexed at {figures[engine].index_items_per_s:.0f} items/s", flush=True)
    section("catalog engines side by side")
    for line in report(figures["sqlite"], figures["postgresql"]):
        print("   " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
