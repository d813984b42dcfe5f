"""The vector file's reads: rows in file order and scattered rows come back the same.

Scattered reads (re-ranking candidates, training samples) go through a second mapping
advised MADV_RANDOM after a MADV_WILLNEED prefetch of their pages; this checks that they
return exactly what the plain mapping returns, in the order asked, across prefetch
groups, after more rows are committed, and that the prefetch asks for every row's pages.
"""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import storage.vector_file as vector_file
from storage.vector_file import VectorFile, stored_form

DIM = 96  # 192-byte rows: some straddle a page boundary


def _filled(tmp_path, count: int, seed: int = 0) -> tuple[VectorFile, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, DIM)).astype(np.float32)
    file = VectorFile(tmp_path, 1, DIM, 0)
    _, end = file.write(np.arange(100, 100 + count), vectors)
    file.commit(end)
    return file, vectors


def test_scattered_rows_equal_rows_read_in_file_order_in_the_order_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_file, "PREFETCH_ROWS", 7)  # several prefetch groups
    file, vectors = _filled(tmp_path, 500)
    slots = np.array([499, 3, 250, 3, 0, 128, 77, 499, 21, 22, 23, 400, 401, 5, 6, 7, 8, 9])
    scattered = file.rows(slots, scattered=True)
    np.testing.assert_array_equal(scattered, file.rows(slots))
    np.testing.assert_allclose(scattered, stored_form(vectors[slots]), atol=1e-6)
    np.testing.assert_allclose(file.vectors_of(np.array([599, 100])), stored_form(vectors[[499, 0]]), atol=1e-6)


def test_scattered_reads_see_rows_committed_after_the_first_read(tmp_path):
    file, vectors = _filled(tmp_path, 50)
    file.rows(np.array([1, 2]), scattered=True)
    more = np.random.default_rng(1).standard_normal((30, DIM)).astype(np.float32)
    _, end = file.write(np.arange(1000, 1030), more)
    file.commit(end)
    np.testing.assert_allclose(file.vectors_of(np.array([1029, 100])), stored_form(np.vstack([more[-1], vectors[0]])), atol=1e-6)


@pytest.mark.skipif(not vector_file._ADVICE, reason="this platform's mmap has no madvise")
def test_scattered_reads_ask_the_kernel_for_each_rows_pages_first(tmp_path, monkeypatch):
    file, _ = _filled(tmp_path, 500)
    asked: list[tuple[int, int]] = []
    real_prefetch = VectorFile._prefetch

    def spy(self, mapped, slots):
        asked.extend((int(slot), len(mapped)) for slot in slots)
        return real_prefetch(self, mapped, slots)

    monkeypatch.setattr(VectorFile, "_prefetch", spy)
    slots = np.array([450, 20, 21, 300])
    file.rows(slots, scattered=True)
    assert sorted(slot for slot, _ in asked) == sorted(slots.tolist())
    assert all(length == 500 * DIM * 2 for _, length in asked)  # the committed rows, no more
    asked.clear()
    file.rows(slots)  # a read in file order (builds, checks) keeps the plain mapping's read-ahead
    assert asked == []


def test_a_sample_of_every_row_streams_and_a_smaller_one_reads_scattered(tmp_path, monkeypatch):
    file, vectors = _filled(tmp_path, 200)
    ids = np.arange(100, 300)
    seen: list[bool] = []
    real_rows = VectorFile.rows
    monkeypatch.setattr(VectorFile, "rows", lambda self, slots, scattered=False: seen.append(scattered) or real_rows(self, slots, scattered))
    assert file.sample(ids, 1000, seed=0).shape == (200, DIM)
    assert file.sample(ids, 20, seed=0).shape == (20, DIM)
    assert seen == [False, True]
    assert mmap.PAGESIZE % (DIM * 2) != 0  # the rows above do straddle pages
