"""A numbered migration records how the vector index was built; older catalogs gain it in place."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine

from storage import Store
from storage.records import ModelIdentity
from storage.schema import MIGRATIONS, _record_index_builds

INDEX_BUILD_COLUMNS = NEW_COLUMNS = (  # what version 5 added
    "index_built_vectors",
    "index_build_seconds",
    "index_nprobe",
    "index_recall_at_10",
    "index_text_recall_at_10",
    "index_text_queries",
)


# For tests that make a catalog of an older version: version 5's additions go too.
DROP_INDEX_BUILD_COLUMNS = "".join(f"ALTER TABLE generations DROP COLUMN {column};\n" for column in INDEX_BUILD_COLUMNS)


def _columns(catalog) -> set[str]:
    with sqlite3.connect(catalog) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(generations)")}


def test_catalog_from_before_the_migration_gains_index_build_columns_and_keeps_its_model(tmp_path):
    catalog = tmp_path / "catalog.sqlite"
    with Store(tmp_path, writable=True) as store:
        store.bind_model(ModelIdentity("old-model", "a" * 16, 8))
    with sqlite3.connect(catalog) as db:  # the generations table as it was before the migration
        for column in NEW_COLUMNS:
            db.execute(f"ALTER TABLE generations DROP COLUMN {column}")
    assert not set(NEW_COLUMNS) & _columns(catalog)

    # Run the migration itself (other migrations, before or after it, are not ours to replay).
    with create_engine(f"sqlite:///{catalog}").begin() as connection:
        _record_index_builds(connection, None)

    assert set(NEW_COLUMNS) <= _columns(catalog)
    assert _record_index_builds in MIGRATIONS
    with Store(tmp_path) as store:
        assert store.model == ModelIdentity("old-model", "a" * 16, 8)
        assert store.stats().index_build is None
