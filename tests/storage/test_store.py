"""The Store keeps SQLite and FAISS in step, refuses other models and second writers."""

from __future__ import annotations

import numpy as np
import pytest

from storage import ModelIdentity, ModelMismatchError, NewImage, Store, StoreLockedError, StoreNotFoundError

pytestmark = pytest.mark.both_catalogs

DIM = 8
MODEL = ModelIdentity("test/model", "fingerprint-a", DIM)


def unit_vectors(count: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def new_images(count: int, start: int = 0) -> list[NewImage]:
    return [
        NewImage(source="/archive.zip", member=f"chip_{i}.png", sha256=f"{i:064x}", byte_size=100 + i,
                 width=32, height=32, format="PNG", mtime=1.0)
        for i in range(start, start + count)
    ]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data", writable=True) as opened:
        opened.bind_model(MODEL)
        yield opened


def test_added_images_are_found_by_their_own_vector_with_metadata(store):
    vectors = unit_vectors(5)
    ids = store.add(new_images(5), vectors)
    hits = store.search(vectors[3], k=2)[0]
    assert hits[0].image.id == ids[3]
    assert hits[0].image.member == "chip_3.png"
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)  # the stored vector is float16


def test_catalog_ids_and_faiss_ids_are_the_same(store):
    ids = store.add(new_images(4), unit_vectors(4))
    store.save()
    stats = store.stats()
    assert stats.items == stats.vectors == 4
    assert sorted(store._vectors.ids().tolist()) == sorted(ids)


def test_offset_pages_through_results(store):
    vectors = unit_vectors(6)
    store.add(new_images(6), vectors)
    first = [hit.image.id for hit in store.search(vectors[0], k=4)[0]]
    page = [hit.image.id for hit in store.search(vectors[0], k=2, offset=2)[0]]
    assert page == first[2:4]


def test_reopened_store_has_everything_saved(tmp_path, store):
    store.add(new_images(3), unit_vectors(3))
    store.save()
    store.close()
    with Store(tmp_path / "data") as reopened:
        assert reopened.count() == 3
        assert reopened.stats().vectors == 3
        assert reopened.model == MODEL


def test_vectors_committed_but_never_saved_to_faiss_come_back_on_open(tmp_path, store):
    """A crash after the SQLite commit and before the FAISS checkpoint loses nothing."""
    vectors = unit_vectors(4)
    store.add(new_images(2), vectors[:2])
    store.save()
    store.add(new_images(2, start=2), vectors[2:])  # committed, not checkpointed
    store.close()
    with Store(tmp_path / "data") as reopened:
        assert reopened.stats().vectors == 4
        assert reopened.search(vectors[3], k=1)[0][0].image.member == "chip_3.png"


def test_faiss_ids_unknown_to_the_catalog_are_dropped_on_open(tmp_path, store):
    from storage.vectors import VectorIndex

    store.add(new_images(2), unit_vectors(2))
    store.save()
    orphaned = VectorIndex.load(tmp_path / "data" / "vectors-g1.faiss")
    orphaned.add(np.array([999], dtype=np.int64), unit_vectors(1, seed=9))
    orphaned.save(tmp_path / "data" / "vectors-g1.faiss")
    store.close()
    with Store(tmp_path / "data") as reopened:
        assert sorted(reopened._vectors.ids().tolist()) == [1, 2]


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path, store):
    with pytest.raises(StoreLockedError, match="Another rsclip process"):
        Store(tmp_path / "data", writable=True)


def test_readers_may_open_beside_the_writer(tmp_path, store):
    store.add(new_images(1), unit_vectors(1))
    with Store(tmp_path / "data") as reader:
        assert reader.count() == 1


def test_a_different_model_is_refused(store):
    with pytest.raises(ModelMismatchError, match="test/model"):
        store.bind_model(ModelIdentity("other/model", "fingerprint-b", DIM))


def test_the_same_weights_under_another_name_are_accepted(store):
    store.bind_model(ModelIdentity("/downloads/model-folder", "fingerprint-a", DIM))


def test_vectors_of_the_wrong_dimension_are_rejected_before_anything_is_written(store):
    with pytest.raises(ValueError, match="dimensions"):
        store.add(new_images(1), unit_vectors(1, dim=DIM + 1))
    assert store.count() == 0


def test_missing_data_directory_is_a_clear_error(tmp_path):
    with pytest.raises(StoreNotFoundError, match="rsclip index"):
        Store(tmp_path / "nothing-here")


def test_existing_hashes_are_reported_with_their_ids(store):
    ids = store.add(new_images(2), unit_vectors(2))
    assert store.existing_sha256([f"{0:064x}", "f" * 64]) == {f"{0:064x}": ids[0]}


@pytest.mark.sqlite_only
def test_catalog_records_schema_version_and_uses_wal(tmp_path, store):
    import sqlite3

    from storage.schema import CURRENT_VERSION

    connection = sqlite3.connect(tmp_path / "data" / "catalog.sqlite")
    assert connection.execute("select version from schema_version").fetchone()[0] == CURRENT_VERSION
    assert connection.execute("pragma journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_database_url_may_point_elsewhere(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    with Store(tmp_path / "data", database_url=url, writable=True) as store:
        store.bind_model(MODEL)
        store.add(new_images(1), unit_vectors(1))
    assert (tmp_path / "elsewhere.sqlite").is_file()
    assert not (tmp_path / "data" / "catalog.sqlite").exists()
