"""Schema 2 records how the vector index was built; a schema-1 catalog is migrated in place."""

from __future__ import annotations

import sqlite3

from storage import Store
from storage.records import ModelIdentity
from storage.schema import CURRENT_VERSION

NEW_COLUMNS = ("index_built_vectors", "index_build_seconds", "index_nprobe", "index_recall_at_10", "index_text_recall_at_10")


def _downgrade_to_schema_1(catalog) -> None:
    with sqlite3.connect(catalog) as db:
        for column in NEW_COLUMNS:
            db.execute(f"ALTER TABLE generations DROP COLUMN {column}")
        db.execute("UPDATE schema_version SET version = 1")


def test_schema_1_catalog_gains_index_build_columns_and_keeps_its_model(tmp_path):
    with Store(tmp_path, writable=True) as store:
        store.bind_model(ModelIdentity("old-model", "a" * 16, 8))
    _downgrade_to_schema_1(tmp_path / "catalog.sqlite")

    with Store(tmp_path) as store:
        assert store.model == ModelIdentity("old-model", "a" * 16, 8)
        assert store.stats().index_build is None
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(generations)")}
        version = db.execute("SELECT version FROM schema_version").fetchone()[0]
    assert set(NEW_COLUMNS) <= columns
    assert version == CURRENT_VERSION >= 2
