"""A PQ index keeps each vector's error along the text queries' shared direction: the
candidates are ranked by the corrected score and only the best are read and re-ranked."""

from __future__ import annotations

from dataclasses import replace

import faiss
import numpy as np
import pytest

from storage import IndexPolicy, Store
from storage.index_policy import recall_at_k
from storage.records import TEXT_QUERIES
from storage.text_axis import TextAxis
from storage.vector_file import VectorFile
from storage.vectors import VectorIndex
from tests.storage.test_index_types import DIM, clustered_vectors, new_images
from tests.storage.test_memory_budget import BUDGET_POLICY, MODEL

POLICY = IndexPolicy(probe_queries=100, max_rerank=512, min_rerank=8)
COUNT = 4000


def model_text_vectors(count: int, seed: int = 3) -> np.ndarray:
    """Text vectors of a "model": all along one direction, each leaning a little towards its own images."""
    rng = np.random.default_rng(seed)
    shared = np.random.default_rng(99).standard_normal(DIM).astype(np.float32)
    shared /= np.linalg.norm(shared)
    vectors = 0.8 * shared + 0.25 * clustered_vectors(count, seed=seed) + 0.3 * rng.standard_normal((count, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def vector_file(tmp_path, vectors: np.ndarray) -> tuple[VectorFile, np.ndarray]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    file = VectorFile(tmp_path, 1, DIM, 0)
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)  # catalog ids start at 1
    _, end = file.write(ids, vectors)
    file.commit(end)
    return file, ids


def built(tmp_path, index_type: str = "IVF16,PQ16x4fs", text: bool = True, policy: IndexPolicy = POLICY):
    file, ids = vector_file(tmp_path, clustered_vectors(COUNT))
    text_queries = (lambda: model_text_vectors(40)) if text else None
    index, build = VectorIndex.build(index_type, ids, file, policy, text_queries)
    return index, build, file, ids


def pq_and_exact(index: VectorIndex, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PQ scores and ids of every cell's best ``depth``, and their exact scores."""
    params = faiss.SearchParametersIVF(nprobe=index._ivf.nlist)
    if isinstance(index._index, faiss.IndexPreTransform):
        params = faiss.SearchParametersPreTransform(index_params=params)
    pq_scores, found = index._index.search(queries, depth, params=params)
    exact = np.stack([index.source.vectors_of(row) @ query for row, query in zip(found, queries)])
    return pq_scores, found, exact


@pytest.mark.parametrize("index_type", ["IVF16,PQ16x4fs", "IVF16,PQ16x4", "OPQ16,IVF16,PQ16x4fs"])
def test_along_the_axis_corrected_scores_are_exact_where_pq_scores_are_not(tmp_path, index_type):
    """Fast-scan, 8-bit-style residual and OPQ-rotated codes: a query along the axis itself
    scores every candidate exactly once the kept error is added back."""
    index, _, _, _ = built(tmp_path, index_type)
    axis = index.text_axis.axis[None]
    pq_scores, found, exact = pq_and_exact(index, axis, 300)
    corrected = index.text_axis.corrected(axis, pq_scores, found)
    pq_error, corrected_error = np.abs(pq_scores - exact).max(), np.abs(corrected - exact).max()
    assert pq_error > 0.02
    assert corrected_error < 0.1 * pq_error
    assert np.allclose(index.text_axis.axis, model_text_vectors(40).mean(0) / np.linalg.norm(model_text_vectors(40).mean(0)))


def test_the_corrected_score_ranks_text_queries_best_images_among_the_first_candidates(tmp_path):
    index, _, file, ids = built(tmp_path)
    queries = model_text_vectors(60, seed=11)  # fresh ones, not the calibration's
    pq_scores, found, exact = pq_and_exact(index, queries, 400)
    truth = np.take_along_axis(found, np.argsort(-exact, axis=1)[:, :10], axis=1)

    def recall_of_first(scores: np.ndarray, count: int) -> float:
        first = np.take_along_axis(found, np.argsort(-scores, axis=1)[:, :count], axis=1)
        return recall_at_k(first, truth)

    corrected = index.text_axis.corrected(queries, pq_scores, found)
    assert recall_of_first(corrected, 40) > recall_of_first(pq_scores, 40) + 0.05
    best = index.text_axis.best(queries, pq_scores, found, 40)
    assert best.shape == (60, 40) and set(best[0]) <= set(found[0])
    assert recall_at_k(best, truth) == recall_of_first(corrected, 40)


def test_calibration_reads_fewer_rows_than_it_takes_candidates_and_still_reaches_the_target(tmp_path):
    index, build, file, ids = built(tmp_path)
    plain, plain_build, _, _ = built(tmp_path / "plain", text=False)
    assert plain.text_axis is None and plain_build.text_candidates is None
    assert build.text_queries == "model" and build.text_recall_at_10 >= POLICY.target_recall
    assert build.text_candidates is not None and build.text_rerank < build.text_candidates
    assert index.depths[TEXT_QUERIES].rerank == build.text_rerank

    read = []
    real_vectors_of = file.vectors_of
    file.vectors_of = lambda wanted: read.append(len(wanted)) or real_vectors_of(wanted)
    queries = model_text_vectors(50, seed=21)
    found = np.vstack([index.search(query, 10, kind="text")[1] for query in queries])
    assert read == [build.text_rerank] * len(queries)
    everything = file.vectors_of(ids)
    truth = np.vstack([ids[np.argsort(-(everything @ query))[:10]] for query in queries])
    assert recall_at_k(found, truth) >= 0.9  # fresh queries, not the calibration's


def test_without_its_errors_an_index_reads_every_candidate_it_takes(tmp_path):
    """A record asking for fewer reads than candidates, on an index that lost its axis (say,
    a file from before it had one): ranked by PQ score alone, the few would be the wrong few."""
    index, build, file, _ = built(tmp_path)
    index.text_axis = None
    read = []
    real_vectors_of = file.vectors_of
    file.vectors_of = lambda wanted: read.append(len(wanted)) or real_vectors_of(wanted)
    index.search(model_text_vectors(1, seed=5), 10, kind="text")
    assert read == [build.text_candidates]


def test_the_errors_are_saved_in_the_index_file_which_faiss_still_reads_alone(tmp_path):
    index, _, file, ids = built(tmp_path)
    path = tmp_path / "vectors-g1.faiss"
    index.save(path)
    again = VectorIndex.load(path)
    assert np.array_equal(again.text_axis.axis, index.text_axis.axis)
    assert np.array_equal(again.text_axis.errors, index.text_axis.errors)
    assert faiss.read_index(str(path)).ntotal == COUNT  # FAISS stops at its own bytes
    assert VectorIndex.load(path, mmap=True).text_axis is not None
    index.text_axis = None
    index.save(path)
    assert VectorIndex.load(path).text_axis is None


def test_vectors_added_and_replaced_after_the_build_get_their_errors(tmp_path):
    index, _, file, ids = built(tmp_path)
    more = clustered_vectors(50, seed=7)
    new_ids = np.arange(10_000, 10_050, dtype=np.int64)  # past the end: the errors grow
    index.add(new_ids, more)
    index.remove(ids[:5])
    index.add(ids[:5], more[:5])  # the same ids, other vectors
    for chunk_ids, vectors in ((new_ids, more), (ids[:5], more[:5])):
        expected = (vectors - index.approximations(vectors)) @ index.text_axis.axis
        assert np.allclose(index.text_axis.errors[chunk_ids], expected)
    assert np.abs(index.text_axis.errors[new_ids]).max() > 0


def test_an_index_without_model_text_vectors_keeps_no_axis_and_calibrate_gives_it_one(tmp_path):
    index, build, file, ids = built(tmp_path, text=False)
    assert index.text_axis is None and build.candidates is None and build.text_candidates is None
    assert TextAxis.of(model_text_vectors(3), DIM) is None  # too few to trust their mean
    again = index.calibrate(ids, POLICY, lambda: model_text_vectors(40))
    assert index.text_axis is not None and again.text_candidates is not None
    fresh, _, _, _ = built(tmp_path / "fresh")
    assert np.allclose(index.text_axis.errors, fresh.text_axis.errors, atol=1e-6)


def test_a_store_keeps_the_axis_across_saves_and_shows_the_reads_in_stats(tmp_path):
    from rsclip.commands.stats_cmd import describe_build

    store = Store(tmp_path, writable=True, index_policy=BUDGET_POLICY)
    store.bind_model(MODEL)
    store.calibrate_with(lambda: model_text_vectors(40))
    vectors = clustered_vectors(3000)
    for start in range(0, 3000, 500):
        store.add(new_images(500, start), vectors[start : start + 500])
        store.save()
    assert store.stats().index_type.endswith("PQ16x4fs") and store._vectors.text_axis is not None
    errors = store._vectors.text_axis.errors.copy()
    store.close()
    with Store(tmp_path) as reader:
        assert np.array_equal(reader._vectors.text_axis.errors, errors)
        build = reader.stats().index_build
        assert reader._vectors.depths[TEXT_QUERIES].candidates == build.text_candidates
        hits = reader.search(vectors[42], k=1, kind="image")[0]
    assert hits[0].image.id == 43 and hits[0].score == pytest.approx(1.0, abs=2e-3)
    fewer = replace(build, text_candidates=4 * build.text_rerank)
    assert f"the best {build.text_rerank} of {4 * build.text_rerank} candidates re-ranked exactly" in describe_build(fewer)
