"""Repeated text queries reuse their vector instead of running the text tower again."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import IndexRun
from service.query_cache import TextVectorCache
from service.searcher import Searcher, model_identity
from storage import Store
from tests.conftest import noise_image


class CountingEncode:
    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return np.full(4, float(len(self.texts)), dtype=np.float32)


def test_same_text_and_model_is_encoded_once():
    cache, encode = TextVectorCache(capacity=8), CountingEncode()
    first = cache.vector("model-a", "a harbour", encode)
    again = cache.vector("model-a", "a harbour", encode)
    assert encode.texts == ["a harbour"]
    assert again is first and (cache.hits, cache.misses) == (1, 1)


def test_another_model_never_gets_the_first_models_vector():
    cache, encode = TextVectorCache(capacity=8), CountingEncode()
    old = cache.vector("model-a", "a harbour", encode)
    new = cache.vector("model-b", "a harbour", encode)
    assert encode.texts == ["a harbour", "a harbour"]
    assert not np.array_equal(old, new)


def test_cache_is_bounded_and_drops_the_least_recently_used():
    cache, encode = TextVectorCache(capacity=2), CountingEncode()
    for text in ("a", "b"):
        cache.vector("m", text, encode)
    cache.vector("m", "a", encode)  # "a" used again: "b" is now the oldest
    cache.vector("m", "c", encode)
    assert len(cache) == 2
    cache.vector("m", "a", encode)
    cache.vector("m", "b", encode)  # evicted: encoded again
    assert encode.texts == ["a", "b", "c", "b"]


def test_cached_vectors_cannot_be_changed_by_a_caller():
    cache = TextVectorCache(capacity=2)
    vector = cache.vector("m", "a", CountingEncode())
    with pytest.raises(ValueError):
        vector[0] = 5.0


def test_searcher_pages_a_text_query_with_one_text_tower_pass(tmp_path, encoder, monkeypatch):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(6):
        noise_image(seed).save(folder / f"{seed}.png")
    calls = []
    real_encode = encoder.encode_texts
    monkeypatch.setattr(encoder, "encode_texts", lambda texts: calls.append(list(texts)) or real_encode(texts))
    with Store(tmp_path / "data", writable=True) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, progress=False).run([folder])
        searcher = Searcher(store, encoder, text_cache=TextVectorCache())
        calls.clear()  # the indexer may have encoded its calibration texts
        first_page = searcher.search_text("fields", k=3)
        second_page = searcher.search_text("fields", k=3, offset=3)
        uncached = store.search(real_encode(["fields"]), 6)[0]
    assert calls == [["fields"]]
    assert [hit.image.id for hit in first_page + second_page] == [hit.image.id for hit in uncached]
