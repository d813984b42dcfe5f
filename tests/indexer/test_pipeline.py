"""An index run over mixed inputs: one row and one vector per distinct valid image."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from indexer import IndexRun
from service.searcher import Searcher, model_identity
from storage import Store
from tests.vectors import assert_stored_equal

pytestmark = pytest.mark.both_catalogs


def _index(data_dir, encoder, inputs, **options):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        report = IndexRun(store, encoder, progress=False, **options).run(inputs)
        return report, store.stats()


def test_mixed_inputs_give_one_row_and_one_vector_per_distinct_valid_image(tmp_path, encoder, mixed_corpus):
    inputs, expected = mixed_corpus
    report, stats = _index(tmp_path / "data", encoder, inputs)
    assert report.added == len(expected) == 7
    assert report.duplicates == 1
    assert [f.member for f in report.failures] == ["broken.jpg"]
    assert "decode" in report.failures[0].reason
    assert stats.items == stats.vectors == 7
    with Store(tmp_path / "data") as store:
        stored = {(hit.image.source, hit.image.member): hit.image for hit in store.search(np.ones(encoder.spec.dimension), k=50)[0]}
    assert set(stored) == set(expected)
    for key, data in expected.items():
        assert stored[key].sha256 == hashlib.sha256(data).hexdigest()
        assert stored[key].byte_size == len(data)
        assert (stored[key].width, stored[key].height) == (48, 40)


def test_every_indexed_image_finds_itself_first(tmp_path, encoder, mixed_corpus):
    inputs, expected = mixed_corpus
    _index(tmp_path / "data", encoder, inputs)
    with Store(tmp_path / "data") as store:
        searcher = Searcher(store, encoder)
        for (source, member), data in expected.items():
            top = searcher.search_image(Image.open(io.BytesIO(data)), k=3)[0]
            assert (top.image.source, top.image.member) == (source, member)
            assert top.score == pytest.approx(1.0, abs=1e-4)


def test_rerunning_on_the_same_inputs_adds_nothing(tmp_path, encoder, mixed_corpus):
    inputs, _ = mixed_corpus
    _index(tmp_path / "data", encoder, inputs)
    report, stats = _index(tmp_path / "data", encoder, inputs)
    assert report.added == 0
    assert report.unchanged == 8  # 7 images + the duplicate path, skipped by path, size and mtime
    assert stats.items == stats.vectors == 7


def test_batch_size_does_not_change_the_vectors(tmp_path, encoder, mixed_corpus):
    inputs, _ = mixed_corpus
    _index(tmp_path / "one", encoder, inputs, batch_size=1, workers=1)
    _index(tmp_path / "many", encoder, inputs, batch_size=5, workers=3)
    with Store(tmp_path / "one") as one, Store(tmp_path / "many") as many:
        by_sha_one = {hit.image.sha256: one.vector(hit.image.id) for hit in one.search(np.ones(encoder.spec.dimension), k=50)[0]}
        for hit in many.search(np.ones(encoder.spec.dimension), k=50)[0]:
            assert_stored_equal(by_sha_one[hit.image.sha256], many.vector(hit.image.id))
