"""check finds every way the catalog and the FAISS file can disagree; repair fixes them."""

from __future__ import annotations

import os

import numpy as np
import pytest

from storage import Store
from storage.check import check_store, repair_store
from storage.vectors import VectorIndex
from tests.catalogs import catalog_sql
from tests.storage.test_store import MODEL, new_images, unit_vectors

pytestmark = pytest.mark.both_catalogs


def saved_index(data_dir, images: int):
    """A data directory holding ``images`` items under MODEL, saved."""
    with Store(data_dir, writable=True) as store:
        store.bind_model(MODEL)
        store.add(new_images(images), unit_vectors(images))
        store.save()
    return data_dir


@pytest.fixture
def data_dir(tmp_path):
    return saved_index(tmp_path / "data", images=5)


def check(data_dir):
    with Store(data_dir, writable=True, recover=False) as store:
        return check_store(store)


def check_and_repair(data_dir):
    with Store(data_dir, writable=True, recover=False) as store:
        report = check_store(store)
        actions = repair_store(store, report)
        return report, actions, check_store(store)


def codes(report) -> set[str]:
    return {problem.code for problem in report.problems}


def edit_faiss(data_dir, change):
    path = data_dir / "vectors-g1.faiss"
    vectors = VectorIndex.load(path)
    change(vectors)
    vectors.save(path)


sql = catalog_sql


def test_a_clean_index_has_no_problem(data_dir):
    report = check(data_dir)
    assert report.ok and (report.images, report.catalog_vectors, report.faiss_vectors) == (5, 5, 5)
    assert report.generation.model == MODEL


@pytest.mark.parametrize(
    "damage, code",
    [
        (lambda d: edit_faiss(d, lambda v: v.remove(np.array([2, 4]))), "faiss-missing-ids"),
        (lambda d: edit_faiss(d, lambda v: v.add(np.array([77]), unit_vectors(1, seed=7))), "faiss-orphan-ids"),
        (lambda d: edit_faiss(d, lambda v: v.add(np.array([3]), unit_vectors(1, seed=8))), "faiss-duplicate-ids"),
        (lambda d: edit_faiss(d, lambda v: (v.remove(np.array([1])), v.add(np.array([1]), unit_vectors(1, seed=9)))),
         "faiss-vectors-differ"),
        (lambda d: (d / "vectors-g1.faiss").unlink(), "faiss-file-missing"),
        (lambda d: (d / "vectors-g1.faiss").write_bytes(b"not faiss"), "faiss-file-unreadable"),
        (lambda d: VectorIndex.create(5).save(d / "vectors-g1.faiss"), "faiss-dimension"),
    ],
    ids=["missing", "orphan", "duplicate", "differ", "no-file", "unreadable", "dimension"],
)
def test_each_faiss_disagreement_is_reported_and_repaired_from_the_catalog(data_dir, damage, code):
    damage(data_dir)
    report, actions, after = check_and_repair(data_dir)
    assert code in codes(report)
    assert any("rebuilt" in action for action in actions)
    assert after.ok, after.problems
    assert after.faiss_vectors == 5


def zero_row_of_image_2(data_dir):
    with open(data_dir / "vectors-g1.f16", "r+b") as handle:  # image 2 is row 1; 8-d fp16 rows
        handle.seek(1 * 8 * 2)
        handle.write(b"\x00" * 16)


@pytest.mark.parametrize(
    "damage, code",
    [
        (zero_row_of_image_2, "catalog-vectors-malformed"),
        (lambda d: sql(d, "UPDATE embeddings SET slot = 99 WHERE image_id = 2"), "catalog-vectors-malformed"),
        (lambda d: sql(d, "UPDATE embeddings SET slot = 0 WHERE image_id = 2"), "catalog-vectors-malformed"),
        (lambda d: os.truncate(d / "vectors-g1.f16", 4 * 8 * 2), "vector-file-short"),
    ],
    ids=["zeroed-row", "slot-past-the-end", "row-of-another-image", "truncated-file"],
)
def test_a_malformed_stored_vector_is_reported_and_deleted(data_dir, damage, code):
    damage(data_dir)
    report, _, after = check_and_repair(data_dir)
    assert code in codes(report)
    # Without a re-embedding step (no files here) the image is left without a vector, and says so.
    assert codes(after) == {"images-without-vector"}


def test_an_image_without_a_vector_is_reported(data_dir):
    sql(data_dir, "DELETE FROM embeddings WHERE image_id = 3")
    report = check(data_dir)
    assert "images-without-vector" in codes(report)
    assert next(p for p in report.problems if p.code == "images-without-vector").repair.startswith("re-embed")


def test_leftover_files_and_retired_generations_are_reported_and_deleted(data_dir):
    (data_dir / "vectors-g42.faiss").write_bytes(b"stray")
    (data_dir / ".vectors-g1.faiss.abc.tmp").write_bytes(b"half a save")
    report, _, after = check_and_repair(data_dir)
    assert "stray-files" in codes(report) and after.ok
    assert sorted(p.name for p in data_dir.iterdir() if "vectors" in p.name) == [
        "vectors-g1.f16", "vectors-g1.faiss", "vectors-g1.ids"
    ]


def test_an_image_no_file_holds_is_reported_and_removed(data_dir):
    sql(data_dir, "DELETE FROM locations WHERE image_id = 5")
    report, _, after = check_and_repair(data_dir)
    assert "images-without-file" in codes(report)
    assert after.ok and after.images == 4


def test_a_missing_model_record_is_reported_and_not_guessed(data_dir):
    sql(data_dir, "UPDATE generations SET model_fingerprint = ''")
    report, _, after = check_and_repair(data_dir)
    assert "model-not-recorded" in codes(report)
    assert "model-not-recorded" in codes(after)
    assert next(p for p in after.problems if p.code == "model-not-recorded").repair == ""


def test_check_reads_the_file_on_disk_not_a_reconciled_copy(data_dir):
    edit_faiss(data_dir, lambda v: v.remove(np.array([1])))
    with Store(data_dir) as reader:  # a plain open reconciles in memory...
        assert reader.stats().vectors == 5
    assert "faiss-missing-ids" in codes(check(data_dir))  # ...but the file still lacks it
