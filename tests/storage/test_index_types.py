"""The vector index follows the collection's size: exact while small, IVF when large,
with recall measured and recorded, and removal, updates and repair working in both."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from storage import IndexPolicy, NewImage, Store
from storage.index_policy import EXACT_INDEX
from storage.records import ModelIdentity
from storage.vectors import VectorIndex

DIM = 32
# Exact up to 1,000 vectors of 32-d; the IVF built above that has 8-32 cells.
SMALL_POLICY = IndexPolicy(exact_max_bytes=1000 * DIM * 4, cell_size=64, max_cell_size=256, probe_queries=100)


def clustered_vectors(count: int, seed: int = 0, clusters: int = 40) -> np.ndarray:
    """Unit vectors around random centres, like embeddings of images of a few kinds."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, count)] + 0.5 * rng.standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def new_images(count: int, start: int = 0) -> list[NewImage]:
    return [
        NewImage(source="/archive", member=f"chip_{i:05d}.tif", sha256=f"{i:064x}", byte_size=1, width=8, height=8, format="TIFF")
        for i in range(start, start + count)
    ]


def filled_store(data_dir, count: int, policy: IndexPolicy = SMALL_POLICY) -> tuple[Store, np.ndarray, list[int]]:
    store = Store(data_dir, writable=True, index_policy=policy)
    store.bind_model(ModelIdentity("test-model", "f" * 16, DIM))
    vectors = clustered_vectors(count)
    ids: list[int] = []
    for start in range(0, count, 500):
        ids += store.add(new_images(min(500, count - start), start), vectors[start : start + 500])
    store.save()
    return store, vectors, ids


def test_small_collection_keeps_exact_search(tmp_path):
    store, _, _ = filled_store(tmp_path, 600)
    with store:
        stats = store.stats()
    assert stats.index_type == EXACT_INDEX
    assert stats.index_build is None


def test_large_collection_becomes_ivf_with_recall_measured_and_recorded(tmp_path):
    store, vectors, ids = filled_store(tmp_path, 3000)
    store.close()
    with Store(tmp_path) as reader:  # what `rsclip stats` sees: read back from the catalog
        stats = reader.stats()
        hits = reader.search(vectors[1234], k=1)[0]
    build = stats.index_build
    assert stats.index_type.startswith("IVF") and stats.index_type == build.index_type
    assert build.vectors == 3000 and build.nprobe >= 1
    assert build.recall_at_10 >= SMALL_POLICY.target_recall
    assert build.text_recall_at_10 >= SMALL_POLICY.target_recall
    assert hits[0].image.id == ids[1234]


def test_ivf_recall_against_exact_search_holds_for_fresh_queries(tmp_path):
    """The recorded recall is not an artefact of the probe queries it was tuned on."""
    store, vectors, _ = filled_store(tmp_path, 3000)
    with store:
        rng = np.random.default_rng(7)
        queries = vectors[rng.integers(0, 3000, 100)] + 0.3 * rng.standard_normal((100, DIM)).astype(np.float32)
        exact = VectorIndex.create(DIM)
        exact.add(np.arange(3000), vectors)
        found = [{hit.image.id - 1 for hit in row} for row in store.search(queries, k=10)]
        truth = exact.search(queries, 10)[1]
    recall = np.mean([len(f & set(t.tolist())) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.9


def test_ivf_index_removes_and_updates_by_id(tmp_path):
    store, vectors, ids = filled_store(tmp_path, 3000)
    index = store._vectors
    assert index.index_type.startswith("IVF")
    gone = np.array(ids[:10], dtype=np.int64)
    assert index.remove(gone) == 10
    assert index.count == 2990 and not np.isin(gone, index.ids()).any()
    assert not np.isin(index.search(vectors[:10], 5)[1], gone).any()
    replacement = clustered_vectors(1, seed=99)
    index.remove(np.array([ids[20]]))
    index.add(np.array([ids[20]]), replacement)
    np.testing.assert_allclose(index.reconstruct(ids[20]), replacement[0], atol=1e-3)  # stored as fp16
    assert index.search(replacement, 1)[1][0, 0] == ids[20]
    store.close()


def test_shrunk_collection_goes_back_to_exact(tmp_path):
    store, _, ids = filled_store(tmp_path, 3000)
    with store:
        store._vectors.remove(np.array(ids[:2700], dtype=np.int64))
        exact, build = store._vectors.rebuild_if_needed(SMALL_POLICY)
        assert build.exact and exact.index_type == EXACT_INDEX
        assert sorted(exact.ids().tolist()) == ids[2700:]
        assert store._vectors.index_type.startswith("IVF")  # the store swaps it in at its next save


def test_missing_ivf_file_is_rebuilt_from_the_catalog(tmp_path):
    store, vectors, ids = filled_store(tmp_path, 3000)
    store.close()
    for path in tmp_path.glob("vectors-*.faiss"):
        path.unlink()
    with Store(tmp_path, writable=True, index_policy=SMALL_POLICY) as store:  # reconcile re-adds, save retrains
        assert store.stats().index_type.startswith("IVF")
        assert store.search(vectors[42], k=1)[0][0].image.id == ids[42]
        assert store._vectors.count == 3000


def test_vectors_stored_but_not_saved_to_the_ivf_file_are_recovered(tmp_path):
    store, _, _ = filled_store(tmp_path, 3000)
    extra = clustered_vectors(5, seed=3)
    new_ids = store.add(new_images(5, start=5000), extra)  # committed to SQLite, FAISS file not saved
    store._lock.release()  # as after a crash: the next writer may open
    with Store(tmp_path) as reader:
        assert reader._vectors.index_type.startswith("IVF")
        assert reader._vectors.count == 3005
        assert reader.search(extra[2], k=1)[0][0].image.id == new_ids[2]


@pytest.mark.parametrize("count", [600, 3000], ids=["exact", "ivf"])
def test_search_restricted_to_allowed_ids_finds_them_even_in_cells_not_probed(tmp_path, count):
    store, vectors, ids = filled_store(tmp_path, count)
    with store:
        # Ids whose vectors are far from the query: their cells are not probed by default.
        scores = vectors @ vectors[0]
        allowed = np.array([ids[i] for i in np.argsort(scores)[:3]], dtype=np.int64)
        _, found = store._vectors.search(vectors[:1], 5, allowed_ids=allowed)
    assert set(found[0][found[0] >= 0].tolist()) == set(allowed.tolist())


def test_calibration_settles_close_to_the_smallest_nprobe_that_reaches_the_target():
    from storage.index_policy import choose_nprobe

    def search(_queries, nprobe):  # finds the true neighbour from 150 cells on
        return np.array([[7 if nprobe >= 150 else 3]])

    nprobe, recall = choose_nprobe(search, np.zeros((1, DIM), np.float32), np.array([[7]]), cells=1024, target=0.96)
    assert 150 <= nprobe <= 160 and recall == 1.0


def test_text_queries_get_their_own_depth_and_image_queries_do_not_pay_for_it(tmp_path):
    """Image-like queries reach the target at fewer cells than text-like ones (the modality
    gap): each kind is calibrated alone, searched at its own nprobe, and the index file
    keeps the deeper one for a reader that does not say which kind it asks."""
    store, vectors, ids = filled_store(tmp_path, 3000)
    with store:
        build = store.stats().index_build
        index = store._vectors
        assert index.index_type.startswith("IVF") and build.text_nprobe is not None
        assert build.recall_at_10 >= SMALL_POLICY.target_recall and build.text_recall_at_10 >= SMALL_POLICY.target_recall
        assert build.nprobe < build.text_nprobe  # synthetic text-like probes need more cells
        assert index.nprobe == build.text_nprobe == build.depth().nprobe
        assert index.depths["image"].nprobe == build.nprobe and index.depths["text"].nprobe == build.text_nprobe
        searched = []
        real_candidates = index._candidates

        def spy(queries, k, selector=None, nprobe=None, rerank=None, candidates=None):
            searched.append(nprobe)
            return real_candidates(queries, k, selector, nprobe, rerank, candidates)

        index._candidates = spy
        hits = {kind: store.search(vectors[:1], 5, kind=kind)[0] for kind in ("image", "text", None)}
        assert searched == [build.nprobe, build.text_nprobe, build.text_nprobe]
        assert hits["image"][0].image.id == hits["text"][0].image.id == ids[0]
        with pytest.raises(ValueError, match="kind of query"):
            index.search(vectors[:1], 5, kind="audio")
    with Store(tmp_path) as reader:  # the depths come back from the catalog on open
        assert reader._vectors.depths == store._vectors.depths


def test_a_build_recorded_before_the_split_searches_both_kinds_at_its_one_depth():
    from storage.records import IndexBuild, SearchDepth

    old = IndexBuild("IVF64,SQfp16", 3000, 1.0, nprobe=12, recall_at_10=0.97, text_recall_at_10=0.96, rerank=None)
    assert old.depth("image") == old.depth("text") == old.depth() == SearchDepth(12, None)
    new = IndexBuild("IVF64,PQ16x4fs", 3000, 1.0, nprobe=6, rerank=64, text_nprobe=24, text_rerank=512)
    assert new.depth("image") == SearchDepth(6, 64) and new.depth("text") == SearchDepth(24, 512)
    assert new.depth() == SearchDepth(24, 512)
    assert IndexBuild("IDMap2,Flat", 10, 0.1).depth("text") is None


def test_a_record_of_another_index_type_is_not_applied_and_pq_still_reranks(tmp_path):
    """A crash between saving a rebuilt index and recording its build leaves the catalog
    describing the old index: its depths are not applied to the new one (other cells), and
    a PQ index still re-ranks (its codes alone do not give cosines)."""
    from storage.records import IndexBuild
    from storage.vectors import FALLBACK_RERANK

    store, _, _ = filled_store(tmp_path, 3000)
    with store:
        index = store._vectors
        index.tune(IndexBuild("IVF8,SQfp16", 100, 1.0, nprobe=3, text_nprobe=5))
        assert index.depths == {} and index.rerank is None
        index.tune(store.stats().index_build)
        assert set(index.depths) == {"image", "text"}
    pq = VectorIndex(faiss.index_factory(DIM, "IVF4,PQ8x4fs", faiss.METRIC_INNER_PRODUCT))
    pq.tune(None)
    assert pq.depths == {} and pq.rerank == FALLBACK_RERANK


def test_a_new_generation_switched_in_gets_the_index_type_its_size_calls_for(tmp_path):
    store, _, ids = filled_store(tmp_path, 3000)
    with store:
        build = store.begin_generation(ModelIdentity("new-model", "e" * 16, DIM))
        build.add(ids, clustered_vectors(3000, seed=5))
        build.switch()
        stats = store.stats()
        assert stats.model.model_id == "new-model"
        assert stats.index_type.startswith("IVF") and stats.index_build.vectors == 3000
        assert stats.index_build.text_recall_at_10 >= SMALL_POLICY.target_recall


def test_a_fast_scan_index_searched_one_query_at_a_time_finds_what_the_batch_search_finds():
    """One query's cells are split over the cores (FAISS fast-scan implementation 14), a batch's
    queries are split (the default): both find the same candidates, with and without an id filter."""
    from storage.index_policy import recall_at_k
    from storage.vectors import FAST_SCAN_ONE_QUERY

    vectors = clustered_vectors(4000)
    index = VectorIndex(faiss.index_factory(DIM, "IVF16,PQ16x4fs", faiss.METRIC_INNER_PRODUCT))
    index._index.train(vectors)
    index.add(np.arange(4000, dtype=np.int64), vectors)
    queries = clustered_vectors(50, seed=1)
    allowed = np.arange(0, 4000, 3, dtype=np.int64)
    for selector in (None, faiss.IDSelectorBatch(allowed)):
        batch = index._candidates(queries, 20, selector, nprobe=6)[1]
        assert index._ivf.implem == 0
        one_at_a_time = np.vstack([index._candidates(q[None], 20, selector, nprobe=6)[1] for q in queries])
        assert index._ivf.implem == FAST_SCAN_ONE_QUERY
        assert recall_at_k(one_at_a_time, batch) >= 0.98
        assert (one_at_a_time >= 0).all() and (selector is None or (one_at_a_time % 3 == 0).all())
