"""Place, time and source filters run inside FAISS: exactly the matching items, k filled."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from storage import GeoInfo, ModelIdentity, NewImage, SearchFilters, Store
from storage.schema import CURRENT_VERSION
from tests.catalogs import catalog_sql
from tests.storage.test_index_build_migration import DROP_INDEX_BUILD_COLUMNS
from tests.storage.test_vector_file_migration import downgrade_to_version_5

pytestmark = pytest.mark.both_catalogs

DIM = 16
START = date(2020, 1, 1)


def geo(i: int) -> GeoInfo:
    lon = i * 0.1
    return GeoInfo(
        scene=f"scene{i // 4}.tif",
        layers=((f"scene{i // 4}.tif", 3), (f"scene{i // 4}.tif", 2), (f"scene{i // 4}.tif", 1)),
        window=(i % 4 * 256, 0, 256, 256),
        stretch=((1.0, 2.0), (3.0, 4.0), (5.0, 6.0)),
        bands="3,2,1",
        crs="EPSG:32633",
        bbox=(lon, 10.0, lon + 0.05, 10.05),
        footprint=((lon, 10.05), (lon + 0.05, 10.05), (lon + 0.05, 10.0), (lon, 10.0)),
        resolution_m=10.0,
        acquired=START + timedelta(days=i),
        sensor="Landsat 8 OLI/TIRS",
    )


@pytest.fixture
def store(tmp_path):
    """40 chips along a line of longitude steps, one per day, alternating sources; 5 plain pictures."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(45, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    images = [
        NewImage(f"/data/{'ab'[i % 2]}", f"scene{i // 4}.tif", f"{i:064x}", 1, 256, 256, "GTiff", geo=geo(i))
        for i in range(40)
    ] + [NewImage("/photos", f"p{i}.jpg", f"{100 + i:064x}", 1, 64, 64, "JPEG") for i in range(5)]
    with Store(tmp_path / "data", writable=True) as writer:
        writer.bind_model(ModelIdentity("test", "f" * 64, DIM))
        ids = writer.add(images, vectors)
        writer.save()
    opened = Store(tmp_path / "data")
    opened.test_vectors = dict(zip(ids, vectors))
    yield opened
    opened.close()


def best_ids(store, query, keep, k):
    """Brute force: the k best ids among those ``keep`` accepts."""
    scored = sorted(((float(v @ query), i) for i, v in store.test_vectors.items() if keep(i)), reverse=True)
    return [i for _score, i in scored[:k]]


def query_near_unfiltered(store):
    """A query whose unfiltered best hits lie outside every filter used below (plain pictures)."""
    return store.test_vectors[41] + store.test_vectors[42]


def test_bbox_filter_returns_exactly_the_intersecting_items(store):
    in_box = lambda i: i <= 40 and 1.0 <= (i - 1) * 0.1 + 0.05 and (i - 1) * 0.1 <= 1.52  # ids are 1-based
    hits = store.search(query_near_unfiltered(store), k=100, filters=SearchFilters(bbox=(1.0, 9.0, 1.52, 11.0)))[0]
    assert sorted(hit.image.id for hit in hits) == [i for i in store.test_vectors if in_box(i)]
    assert len(hits) == 6  # lon 0.95 (touches 1.0), 1.0 ... 1.5


def test_filtered_search_fills_k_with_the_best_matching_items(store):
    query = query_near_unfiltered(store)
    unfiltered = [hit.image.id for hit in store.search(query, k=3)[0]]
    assert set(unfiltered) & {41, 42}  # the plain pictures win without a filter
    hits = store.search(query, k=3, filters=SearchFilters(bbox=(0.0, 9.0, 4.0, 11.0)))[0]
    assert [hit.image.id for hit in hits] == best_ids(store, query, lambda i: i <= 40, 3)
    paged = store.search(query, k=3, offset=3, filters=SearchFilters(bbox=(0.0, 9.0, 4.0, 11.0)))[0]
    assert [hit.image.id for hit in paged] == best_ids(store, query, lambda i: i <= 40, 6)[3:]


def test_date_filter_is_inclusive_and_skips_undated_items(store):
    filters = SearchFilters(date_from=date(2020, 1, 5), date_to=date(2020, 1, 9))
    hits = store.search(query_near_unfiltered(store), k=10, filters=filters)[0]
    assert sorted(hit.image.geo.acquired.day for hit in hits) == [5, 6, 7, 8, 9]


def test_source_prefix_matches_the_folder_or_the_full_location(store):
    query = query_near_unfiltered(store)
    only_a = store.search(query, k=50, filters=SearchFilters(source="/data/a"))[0]
    assert len(only_a) == 20 and {hit.image.source for hit in only_a} == {"/data/a"}
    one_scene = store.search(query, k=50, filters=SearchFilters(source="/data/b/scene3"))[0]
    assert sorted(hit.image.id for hit in one_scene) == [14, 16]  # i = 13, 15
    assert store.search(query, k=5, filters=SearchFilters(source="/DATA"))[0] == []  # paths are case-sensitive


def test_combined_filters_and_no_match(store):
    query = query_near_unfiltered(store)
    filters = SearchFilters(bbox=(0.0, 9.0, 2.0, 11.0), date_from=date(2020, 1, 10), source="/data/a")
    hits = store.search(query, k=50, filters=filters)[0]
    assert sorted(hit.image.id for hit in hits) == [11, 13, 15, 17, 19, 21]
    assert store.search(query, k=5, filters=SearchFilters(bbox=(100.0, 0.0, 101.0, 1.0)))[0] == []


def test_geo_metadata_round_trips_through_the_catalog(store):
    record = store.get(8)
    assert record.geo == geo(7)
    assert store.get(41).geo is None


def test_version_1_catalog_is_migrated_to_hold_geo_rows(tmp_path, store):
    store.close()
    downgrade_to_version_5(tmp_path / "data")
    catalog_sql(
        tmp_path / "data",
        "DROP TABLE image_geo; DROP TABLE index_failures; DROP TABLE index_runs;"  # later versions' additions,
        "DROP TABLE locations; ALTER TABLE generations DROP COLUMN status;"  # so it is a true v1
        "UPDATE schema_version SET version = 1;" + DROP_INDEX_BUILD_COLUMNS,
    )
    with Store(tmp_path / "data") as reopened:
        assert reopened.get(8).geo is None  # the old catalog had no geo rows; now it can hold them
    assert catalog_sql(tmp_path / "data", "SELECT count(*) FROM image_geo") == [(0,)]
    assert catalog_sql(tmp_path / "data", "SELECT version FROM schema_version") == [(CURRENT_VERSION,)]
