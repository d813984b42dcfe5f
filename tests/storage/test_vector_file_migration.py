"""Schema 6: a catalog that kept fp32 blobs in ``embeddings`` moves them to the fp16 vector file."""

from __future__ import annotations

import sqlite3

import numpy as np

from storage import Store
from storage.check import check_store
from storage.schema import CURRENT_VERSION
from tests.storage.test_check import saved_index
from tests.storage.test_store import unit_vectors


def downgrade_to_version_5(data_dir) -> None:
    """Make the catalog look like one version 5 wrote: vectors as fp32 blobs, no vector files."""
    connection = sqlite3.connect(data_dir / "catalog.sqlite")
    connection.execute("ALTER TABLE embeddings ADD COLUMN vector BLOB")
    for generation_id, dimension, rows in connection.execute("SELECT id, dimension, vector_slots FROM generations").fetchall():
        stored = np.fromfile(data_dir / f"vectors-g{generation_id}.f16", dtype=np.float16)[: rows * dimension]
        stored = stored.reshape(rows, dimension).astype(np.float32)
        for image_id, slot in connection.execute("SELECT image_id, slot FROM embeddings WHERE generation_id = ?", (generation_id,)).fetchall():
            connection.execute("UPDATE embeddings SET vector = ? WHERE image_id = ? AND generation_id = ?",
                               (stored[slot].tobytes(), image_id, generation_id))
        for suffix in ("f16", "ids"):
            (data_dir / f"vectors-g{generation_id}.{suffix}").unlink()
    connection.executescript(
        """
        ALTER TABLE embeddings DROP COLUMN slot;
        ALTER TABLE generations DROP COLUMN vector_slots;
        ALTER TABLE generations DROP COLUMN index_rerank;
        ALTER TABLE generations DROP COLUMN index_memory_budget;
        UPDATE schema_version SET version = 5;
        """
    )
    connection.commit()
    connection.close()


def test_version_5_blobs_move_to_the_vector_file_and_the_index_stays_consistent(tmp_path):
    data_dir = saved_index(tmp_path / "data", images=6)
    downgrade_to_version_5(data_dir)
    connection = sqlite3.connect(data_dir / "catalog.sqlite")  # one malformed blob: re-embedded by repair later
    connection.execute("UPDATE embeddings SET vector = ? WHERE image_id = 6", (b"\x00" * 3,))
    connection.commit()
    connection.close()
    with Store(data_dir, writable=True) as store:
        assert (data_dir / "vectors-g1.f16").stat().st_size == 5 * 8 * 2  # 5 good rows, 8-d, 2 bytes each
        np.testing.assert_allclose(store.vector(2), unit_vectors(6)[1], atol=1e-3)
        assert store.vector(6) is None
        assert store.search(unit_vectors(6)[3], k=1)[0][0].image.id == 4
        assert [p.code for p in check_store(store).problems] == ["catalog-vectors-malformed"]
    connection = sqlite3.connect(data_dir / "catalog.sqlite")
    assert connection.execute("select version from schema_version").fetchone()[0] == CURRENT_VERSION == 6
    assert "vector" not in {row[1] for row in connection.execute("PRAGMA table_info(embeddings)")}
