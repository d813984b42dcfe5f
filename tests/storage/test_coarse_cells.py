"""Cells of their own for what text queries lean towards (storage/coarse_cells.py).

Data like a CLIP/SigLIP archive in miniature: image vectors in themes, and text vectors
that share one direction (the modality gap) besides leaning weakly towards an image. The
items most aligned with that direction get their own cells; a text query then finds its
neighbours in fewer cells, while image queries need no more than before.
"""

from __future__ import annotations

import numpy as np

from storage import IndexPolicy, ModelIdentity, NewImage, Store
from storage.coarse_cells import layered_centroids
from storage.text_axis import text_direction
from storage.index_policy import probe_queries

DIM = 128


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def archive(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors in 16 themes, each varying along its own 16 directions, plus noise."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((16, DIM)))
    bases = np.linalg.qr(rng.standard_normal((16, DIM, 16)))[0]
    theme = rng.integers(0, 16, count)
    along = np.einsum("nij,nj->ni", bases[theme], rng.standard_normal((count, 16)))
    return _unit(0.55 * centres[theme] + 0.75 * _unit(along) + 0.35 * _unit(rng.standard_normal((count, DIM))))


def text_vectors(count: int, seed: int = 1) -> np.ndarray:
    """Text-like queries of one model: all along the same gap, each weakly towards some image."""
    gap = _unit(np.random.default_rng(7).standard_normal((1, DIM)))[0]
    return probe_queries(archive(count, seed=seed + 100), seed=seed, gap=gap).text_like


def test_no_layer_without_the_models_text_vectors_or_room_for_it():
    sample, direction = archive(4000), text_direction(text_vectors(50), DIM)
    assert layered_centroids(sample, None, 64, 0.05, 39) is None  # synthetic text stand-ins: no direction
    assert text_direction(text_vectors(4), DIM) is None  # too few to know it
    assert layered_centroids(sample, direction, 64, 0.0, 39) is None
    assert layered_centroids(sample, direction, 16, 0.05, 39) is None  # not one cell for it
    assert layered_centroids(sample[:400], direction, 64, 0.05, 39) is None  # too few points to train
    assert layered_centroids(sample, direction, 64, 0.05, 39).shape == (64, DIM)  # room enough: layered


def test_the_layer_cells_lean_along_the_text_direction_and_the_rest_do_not():
    sample, text = archive(8000), text_vectors(50)
    centroids = layered_centroids(sample, text_direction(text, DIM), 100, 0.05, 39)
    assert centroids.shape == (100, DIM)
    leaning = centroids @ text_direction(text, DIM)
    assert leaning[:5].min() > leaning[5:].max()  # int(0.05 * 100) = 5 cells of their own


def _store(data_dir, vectors, text, share):
    policy = IndexPolicy(exact_max_bytes=0, cell_size=64, max_cell_size=1 << 20, probe_queries=200,
                         memory_budget=1 << 40, text_cell_share=share)
    store = Store(data_dir, writable=True, index_policy=policy)
    store.bind_model(ModelIdentity("test-model", "c" * 16, DIM))
    if text is not None:
        store.calibrate_with(lambda: text)
    images = [NewImage(source="/a", member=f"{i}.png", sha256=f"{i:064x}", byte_size=1, width=8, height=8, format="PNG")
              for i in range(len(vectors))]
    for start in range(0, len(vectors), 5000):
        store.add(images[start : start + 5000], vectors[start : start + 5000])
    store.save()
    return store


def test_text_queries_read_fewer_cells_when_the_layer_has_its_own(tmp_path):
    vectors, text = archive(30_000), text_vectors(200)
    with _store(tmp_path / "plain", vectors, text, 0.0) as plain, _store(tmp_path / "layered", vectors, text, 0.02) as layered:
        before, after = plain.stats().index_build, layered.stats().index_build
    assert before.index_type == after.index_type and before.text_cells == 0
    assert after.text_cells == int(0.02 * int(after.index_type.split(",")[0][3:])) > 0
    assert min(after.recall_at_10, after.text_recall_at_10) >= 0.96  # both still reach the target
    assert after.text_nprobe < before.text_nprobe  # the point of it
    assert after.nprobe <= before.nprobe * 1.5  # image queries barely pay for it


def test_synthetic_text_probes_train_plain_cells(tmp_path):
    with _store(tmp_path, archive(12_000), None, 0.02) as store:
        build = store.stats().index_build
    assert build.text_queries == "synthetic" and build.text_cells == 0


def test_stats_names_the_cells_trained_for_text_queries():
    from rsclip.commands.stats_cmd import describe_build
    from storage import IndexBuild

    build = IndexBuild("IVF4096,PQ512x4fs", 10, 1.0, nprobe=8, recall_at_10=1.0, text_recall_at_10=0.97,
                       text_queries="model", text_nprobe=40, text_cells=int(0.02 * 4096))
    assert "81 cells trained for what text queries lean towards" in describe_build(build)
