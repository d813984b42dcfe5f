"""A catalog written by the first schema version is upgraded in place, nothing lost."""

from __future__ import annotations

import pytest
import numpy as np

from storage import Store
from storage.check import check_store, repair_store
from storage.schema import CURRENT_VERSION
from tests.catalogs import catalog_sql
from tests.storage.test_check import saved_index
from tests.storage.test_index_build_migration import DROP_INDEX_BUILD_COLUMNS
from tests.storage.test_store import unit_vectors
from tests.storage.test_vector_file_migration import downgrade_to_version_5

pytestmark = pytest.mark.both_catalogs


def downgrade_to_version_1(data_dir) -> None:
    """Make the catalog look like one rsclip-search 0.1 wrote: no geo rows, locations, generation status."""
    downgrade_to_version_5(data_dir)
    catalog_sql(
        data_dir,
        """
        DROP TABLE image_geo;
        DROP TABLE index_failures;
        DROP TABLE index_runs;
        DROP TABLE locations;
        ALTER TABLE generations DROP COLUMN status;
        UPDATE schema_version SET version = 1;
        """
        + DROP_INDEX_BUILD_COLUMNS,
    )


def version_1_catalog(data_dir, images: int) -> None:
    downgrade_to_version_1(saved_index(data_dir, images))


def test_a_version_1_catalog_gets_a_location_per_image_and_stays_consistent(tmp_path):
    version_1_catalog(tmp_path / "data", images=4)
    with Store(tmp_path / "data", writable=True) as store:
        assert [store.recorded_location("/archive.zip", f"chip_{i}.png").image_id for i in range(4)] == [1, 2, 3, 4]
        assert store.recorded_location("/archive.zip", "chip_2.png").byte_size == 102
        assert check_store(store).ok
    assert catalog_sql(tmp_path / "data", "select version from schema_version") == [(CURRENT_VERSION,)]
    assert CURRENT_VERSION == 10
    assert catalog_sql(tmp_path / "data", "select status from generations") == [("ready",)]


def test_a_path_indexed_twice_under_version_1_keeps_only_its_newest_content(tmp_path):
    """Version 1 added a new row when a file's content changed and kept the old one."""
    version_1_catalog(tmp_path / "data", images=3)
    catalog_sql(tmp_path / "data", "UPDATE images SET member = 'chip_0.png' WHERE id = 2")  # 2 is chip_0's newer content
    with Store(tmp_path / "data", writable=True, recover=False) as store:
        assert store.recorded_location("/archive.zip", "chip_0.png").image_id == 2
        report = check_store(store)
        assert [p.code for p in report.problems] == ["images-without-file"]
        repair_store(store, report)
        assert check_store(store).ok and store.count() == 2
        assert store.vector(1) is None
        np.testing.assert_allclose(store.vector(2), unit_vectors(3)[1], atol=1e-3)  # stored as float16 since schema 7


def test_raster_chips_of_a_version_3_catalog_get_one_location_per_window(tmp_path, encoder):
    from tests.rasters import index_into, textured, write_geotiff

    path = write_geotiff(tmp_path / "s.tif", textured((3, 300, 300), 0, 3000))
    index_into(tmp_path / "data", encoder, [path])
    downgrade_to_version_5(tmp_path / "data")
    catalog_sql(
        tmp_path / "data",
        "DROP TABLE locations; ALTER TABLE generations DROP COLUMN status; UPDATE schema_version SET version = 3;"
        + DROP_INDEX_BUILD_COLUMNS,
    )
    with Store(tmp_path / "data", writable=True, recover=False) as store:
        parts = {loc.part for loc in store.locations_in(str(tmp_path))}
        assert parts == {"0,0,256,256", "44,0,256,256", "0,44,256,256", "44,44,256,256"}  # edge chips shift in
        assert check_store(store).ok
    # The first run after the upgrade reads the scene once more (its chipping options were
    # not recorded) and embeds nothing; the next one skips it unread.
    again, _ = index_into(tmp_path / "data", encoder, [path])
    assert (again.added, again.already_indexed + again.unchanged) == (0, 4)
    assert index_into(tmp_path / "data", encoder, [path])[0].unchanged == 4
