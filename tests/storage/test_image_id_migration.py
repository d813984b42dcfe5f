"""Schema 8: image ids are 64-bit on both engines, so an id past 2^31 - 1 is stored and found.

SQLite's INTEGER PRIMARY KEY always was (the migration only stamps the version there);
PostgreSQL's SERIAL columns were int4 and become BIGINT.
"""

from __future__ import annotations

import numpy as np
import pytest

from storage import Store
from storage.check import check_store
from storage.schema import CURRENT_VERSION, IMAGE_ID_COLUMNS
from tests.catalogs import catalog_dialect, catalog_sql
from tests.storage.test_check import saved_index
from tests.storage.test_store import new_images, unit_vectors
from tests.storage.test_vector_file_migration import downgrade_to_version_8

pytestmark = pytest.mark.both_catalogs

PAST_INT4 = 2**31 + 7
LARGEST_API_ID = 2**53 - 1


def downgrade_to_version_7(data_dir) -> None:
    """Make the catalog look like one version 7 wrote: int4 image ids on PostgreSQL."""
    downgrade_to_version_8(data_dir)
    if catalog_dialect(data_dir) == "postgresql":
        catalog_sql(data_dir, ";".join(f"ALTER TABLE {t} ALTER COLUMN {c} TYPE INTEGER" for t, c in IMAGE_ID_COLUMNS))
        [(sequence,)] = catalog_sql(data_dir, "SELECT pg_get_serial_sequence('images', 'id')")
        catalog_sql(data_dir, f"ALTER SEQUENCE {sequence} AS INTEGER")
    catalog_sql(data_dir, "UPDATE schema_version SET version = 7")


def image_id_types(data_dir) -> set[str]:
    if catalog_dialect(data_dir) == "sqlite":
        [(images_sql,)] = catalog_sql(data_dir, "SELECT sql FROM sqlite_master WHERE name = 'images'")
        return {"rowid" if "id INTEGER NOT NULL" in images_sql and "PRIMARY KEY (id)" in images_sql else images_sql}
    return {
        catalog_sql(
            data_dir,
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = :t AND column_name = :c",
            t=table, c=column,
        )[0][0]
        for table, column in IMAGE_ID_COLUMNS
    }


def next_image_id_is(data_dir, image_id: int) -> None:
    """Make the catalog number its next image ``image_id``."""
    if catalog_dialect(data_dir) == "postgresql":
        [(sequence,)] = catalog_sql(data_dir, "SELECT pg_get_serial_sequence('images', 'id')")
        catalog_sql(data_dir, f"SELECT setval('{sequence}', :n)", n=image_id - 1)
    else:  # SQLite numbers a row past the largest rowid: a placeholder row, gone before the checks
        catalog_sql(
            data_dir,
            "INSERT INTO images (id, source, member, sha256, byte_size, width, height, format, added_at)"
            " VALUES (:n, 'placeholder', 'placeholder', 'placeholder', 0, 1, 1, 'PNG', CURRENT_TIMESTAMP)",
            n=image_id - 1,
        )


def test_a_version_7_catalog_stores_and_finds_an_image_id_past_2_to_the_31(tmp_path):
    data_dir = saved_index(tmp_path / "data", images=3)
    downgrade_to_version_7(data_dir)
    if catalog_dialect(data_dir) == "postgresql":
        assert image_id_types(data_dir) == {"integer"}
    with Store(data_dir, writable=True):
        pass  # opening migrates
    assert catalog_sql(data_dir, "SELECT version FROM schema_version") == [(CURRENT_VERSION,)]
    assert CURRENT_VERSION == 10
    assert image_id_types(data_dir) == ({"rowid"} if catalog_dialect(data_dir) == "sqlite" else {"bigint"})

    next_image_id_is(data_dir, PAST_INT4)
    vector = unit_vectors(4)[3:]
    with Store(data_dir, writable=True) as store:
        assert store.add(new_images(1, start=3), vector) == [PAST_INT4]
        store.save()
    catalog_sql(data_dir, "DELETE FROM images WHERE source = 'placeholder'")
    with Store(data_dir) as store:
        assert store.get(PAST_INT4).sha256 == new_images(1, start=3)[0].sha256
        assert set(store.get_many([1, PAST_INT4, LARGEST_API_ID])) == {1, PAST_INT4}
        np.testing.assert_allclose(store.vector(PAST_INT4), vector[0], atol=1e-3)  # float16 on disk
        assert store.search(vector, k=1)[0][0].image.id == PAST_INT4
        assert check_store(store).ok


@pytest.mark.parametrize("image_id", [2**31 - 1, 2**31, 2**32 + 1, 2**63 - 1])
def test_an_unknown_id_anywhere_in_64_bits_is_simply_not_there(tmp_path, image_id):
    with Store(saved_index(tmp_path / "data", images=2)) as store:
        assert store.get(image_id) is None
        assert store.get_many([1, image_id]).keys() == {1}
        assert store.vector(image_id) is None
