"""bench/vector_scale.py runs end to end on a tiny scale, and ``--reuse`` keeps its data.

No figure is asserted (no timing in tests): that each step runs in its own process and
reports, and that a rerun with ``reuse`` takes the earlier vectors and truth as they are
instead of writing them again (at 10M they cost about 15 minutes), and ``recalibrate``
calibrates the index it built instead of building another.
"""

from __future__ import annotations

import json

import numpy as np

from bench.vector_scale import run_vector_scale


def test_the_vector_scale_bench_runs_and_reuses_its_data(tmp_path):
    first = run_vector_scale(3000, dimension=64, queries=10, workdir=tmp_path, baseline=False, only_data=True)
    assert not first.steps and (tmp_path / "truth.npy").exists()
    truth = np.load(tmp_path / "truth.npy")
    written = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}

    second = run_vector_scale(3000, dimension=64, queries=10, workdir=tmp_path, baseline=False, reuse=True)
    assert second.fill == first.fill and second.truth == first.truth
    assert all((tmp_path / name).stat().st_mtime_ns == mtime for name, mtime in written.items())
    np.testing.assert_array_equal(np.load(tmp_path / "truth.npy"), truth)
    served = second.steps["policy"]["serve"]
    assert 0.0 <= min(served["recall"]) <= max(served["recall"]) <= 1.0
    assert "[policy]" in "\n".join(second.report())

    index_written = (tmp_path / "index0.faiss").stat().st_mtime_ns
    again = run_vector_scale(3000, dimension=64, queries=10, workdir=tmp_path, baseline=False, reuse=True, recalibrate=True)
    built = again.steps["policy"]["build"]
    assert built["calibrated_only"] and (tmp_path / "index0.faiss").stat().st_mtime_ns == index_written
    assert built["index_type"] == second.steps["policy"]["build"]["index_type"]
    assert "calibrated again" in "\n".join(again.report())
    assert again.steps["policy"]["serve"]["page_cache_emptied"] is None  # --cold (root only) not asked

    made = json.loads((tmp_path / "made.json").read_text())
    (tmp_path / "made.json").write_text(json.dumps({**made, "queries": 1}))  # queries of an older bench
    fourth = run_vector_scale(3000, dimension=64, queries=10, workdir=tmp_path, baseline=False, reuse=True, only_data=True)
    assert fourth.fill == first.fill and fourth.truth != first.truth  # vectors kept, truth made again
    assert (tmp_path / "vectors-g1.f16").stat().st_mtime_ns == written["vectors-g1.f16"]
    assert (tmp_path / "index0.faiss").exists()

    third = run_vector_scale(2000, dimension=64, queries=10, workdir=tmp_path, baseline=False, reuse=True, only_data=True)
    assert third.fill["disk_bytes"] < first.fill["disk_bytes"]  # another shape: made again, not reused


def test_a_pq_index_of_the_bench_keeps_a_text_axis_and_recalibrating_gives_one_to_an_index_without(tmp_path):
    from storage.vectors import VectorIndex

    budget = 3000 * 60  # too small for fp16 cells: product-quantized
    first = run_vector_scale(3000, dimension=64, queries=10, budget=budget, workdir=tmp_path, baseline=False)
    assert ",PQ" in first.steps["policy"]["build"]["index_type"]
    path = tmp_path / "index0.faiss"
    index = VectorIndex.load(path)
    assert index.text_axis is not None  # built with the bench model's text vectors
    index.text_axis = None
    index.save(path)  # as an index saved before it kept one

    again = run_vector_scale(3000, dimension=64, queries=10, budget=budget, workdir=tmp_path, baseline=False,
                             reuse=True, recalibrate=True)
    assert again.steps["policy"]["build"]["calibrated_only"]
    assert VectorIndex.load(path).text_axis is not None
    assert "candidates" in again.steps["policy"]["build"]
