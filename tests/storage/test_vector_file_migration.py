"""Schema 7: a catalog that kept fp32 blobs in ``embeddings`` moves them to the fp16 vector file."""

from __future__ import annotations

import numpy as np
import pytest

from storage import Store
from storage.check import check_store
from storage.schema import CURRENT_VERSION
from tests.catalogs import catalog_dialect, catalog_sql
from tests.storage.test_check import saved_index
from tests.storage.test_store import unit_vectors

pytestmark = pytest.mark.both_catalogs


def downgrade_to_version_9(data_dir) -> None:
    """Make the catalog look like one version 9 wrote: every PQ candidate re-ranked."""
    catalog_sql(
        data_dir,
        "ALTER TABLE generations DROP COLUMN index_candidates; ALTER TABLE generations DROP COLUMN index_text_candidates;"
        "ALTER TABLE generations DROP COLUMN index_text_cells;"
        "UPDATE schema_version SET version = 9",
    )


def downgrade_to_version_8(data_dir) -> None:
    """Make the catalog look like one version 8 wrote: one search depth for both kinds of query."""
    downgrade_to_version_9(data_dir)
    catalog_sql(
        data_dir,
        "ALTER TABLE generations DROP COLUMN index_text_nprobe; ALTER TABLE generations DROP COLUMN index_text_rerank;"
        "UPDATE schema_version SET version = 8",
    )


def downgrade_to_version_6(data_dir) -> None:
    """Make the catalog look like one version 6 wrote: vectors as fp32 blobs, no vector files."""
    downgrade_to_version_8(data_dir)
    blob = "BYTEA" if catalog_dialect(data_dir) == "postgresql" else "BLOB"
    generations = catalog_sql(data_dir, "SELECT id, dimension, vector_slots FROM generations")
    updates = []
    for generation_id, dimension, rows in generations:
        stored = np.fromfile(data_dir / f"vectors-g{generation_id}.f16", dtype=np.float16)[: rows * dimension]
        stored = stored.reshape(rows, dimension).astype(np.float32)
        slots = catalog_sql(data_dir, "SELECT image_id, slot FROM embeddings WHERE generation_id = :g", g=generation_id)
        updates += [(generation_id, image_id, stored[slot].tobytes()) for image_id, slot in slots]
        for suffix in ("f16", "ids"):
            (data_dir / f"vectors-g{generation_id}.{suffix}").unlink()
    catalog_sql(data_dir, f"ALTER TABLE embeddings ADD COLUMN vector {blob}")
    for generation_id, image_id, vector in updates:
        catalog_sql(
            data_dir,
            "UPDATE embeddings SET vector = :v WHERE image_id = :i AND generation_id = :g",
            v=vector, i=image_id, g=generation_id,
        )
    catalog_sql(
        data_dir,
        """
        ALTER TABLE embeddings DROP COLUMN slot;
        ALTER TABLE generations DROP COLUMN vector_slots;
        ALTER TABLE generations DROP COLUMN index_rerank;
        ALTER TABLE generations DROP COLUMN index_memory_budget;
        UPDATE schema_version SET version = 6;
        """,
    )


def downgrade_to_version_5(data_dir) -> None:
    """Through version 6, then without version 6's scene fingerprints (v7 -> v6 -> v5)."""
    downgrade_to_version_6(data_dir)
    catalog_sql(data_dir, "ALTER TABLE image_geo DROP COLUMN scene_sha256; UPDATE schema_version SET version = 5")


def test_version_6_blobs_move_to_the_vector_file_and_the_index_stays_consistent(tmp_path):
    data_dir = saved_index(tmp_path / "data", images=6)
    downgrade_to_version_6(data_dir)
    # one malformed blob: re-embedded by repair later
    catalog_sql(data_dir, "UPDATE embeddings SET vector = :v WHERE image_id = 6", v=b"\x00" * 3)
    with Store(data_dir, writable=True) as store:
        assert (data_dir / "vectors-g1.f16").stat().st_size == 5 * 8 * 2  # 5 good rows, 8-d, 2 bytes each
        np.testing.assert_allclose(store.vector(2), unit_vectors(6)[1], atol=1e-3)
        assert store.vector(6) is None
        assert store.search(unit_vectors(6)[3], k=1)[0][0].image.id == 4
        assert [p.code for p in check_store(store).problems] == ["catalog-vectors-malformed"]
    assert catalog_sql(data_dir, "select version from schema_version") == [(CURRENT_VERSION,)]
    assert CURRENT_VERSION == 10
    assert catalog_sql(data_dir, "SELECT count(*) FROM embeddings WHERE slot >= 0") == [(5,)]
    with pytest.raises(Exception):
        catalog_sql(data_dir, "SELECT vector FROM embeddings")  # the blobs' column is gone


def test_a_version_8_build_searches_both_kinds_at_its_one_depth_until_rebuilt(tmp_path):
    """Version 9 splits the search depth by kind of query; a build recorded before keeps its
    one depth (the nprobe and re-rank depth it was calibrated at) for both kinds."""
    from tests.storage.test_index_types import filled_store

    store, vectors, ids = filled_store(tmp_path, 3000)
    store.close()
    downgrade_to_version_8(tmp_path)
    [(nprobe,)] = catalog_sql(tmp_path, "SELECT index_nprobe FROM generations WHERE active")
    catalog_sql(tmp_path, "UPDATE generations SET index_nprobe = :n", n=nprobe + 1)  # one depth, both kinds
    with Store(tmp_path) as reader:
        build = reader.stats().index_build
        assert (build.text_nprobe, build.text_rerank) == (None, None)
        assert reader._vectors.depths["image"] == reader._vectors.depths["text"] == build.depth()
        assert build.depth().nprobe == nprobe + 1
        assert reader.search(vectors[7], k=1, kind="text")[0][0].image.id == ids[7]
    assert catalog_sql(tmp_path, "select version from schema_version") == [(CURRENT_VERSION,)]


def test_a_version_9_build_gains_empty_candidate_columns_and_reranks_all_it_takes(tmp_path):
    """Version 10 records how many PQ candidates a kind takes beside how many it re-ranks;
    a build recorded before has NULL there: every candidate it takes is re-ranked."""
    from tests.storage.test_memory_budget import grown_store

    store, vectors, ids = grown_store(tmp_path, [3000])
    store.close()
    downgrade_to_version_9(tmp_path)
    with Store(tmp_path) as reader:
        build = reader.stats().index_build
        assert build.index_type.endswith("x4fs") and (build.candidates, build.text_candidates) == (None, None)
        assert reader._vectors.depths["text"].candidates is None
        assert reader.search(vectors[7], k=1, kind="text")[0][0].image.id == ids[7]
    assert catalog_sql(tmp_path, "select version from schema_version") == [(CURRENT_VERSION,)]
