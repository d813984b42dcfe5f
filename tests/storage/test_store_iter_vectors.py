"""Store.iter_vectors: every stored vector, streamed in chunks, in id order."""

from __future__ import annotations

import numpy as np
import pytest

from storage import ModelIdentity, NewImage, Store
from storage.vector_file import stored_form

pytestmark = pytest.mark.both_catalogs


def _new_image(index: int) -> NewImage:
    return NewImage(source="/data", member=f"{index}.png", sha256=f"{index:064x}", byte_size=1, width=1, height=1, format="PNG")


def test_iter_vectors_yields_every_vector_in_id_order_in_chunks(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 4)).astype(np.float32)
    with Store(tmp_path, writable=True) as store:
        store.bind_model(ModelIdentity("toy", "f" * 16, 4))
        ids = store.add([_new_image(i) for i in range(5)], vectors)
        store.save()
    with Store(tmp_path) as store:
        chunks = list(store.iter_vectors(chunk_size=2))
    assert [len(chunk_ids) for chunk_ids, _ in chunks] == [2, 2, 1]
    assert np.concatenate([chunk_ids for chunk_ids, _ in chunks]).tolist() == ids
    assert np.array_equal(np.concatenate([chunk for _, chunk in chunks]), stored_form(vectors))


def test_iter_vectors_of_an_empty_store_yields_nothing(tmp_path):
    with Store(tmp_path, writable=True) as store:
        assert list(store.iter_vectors()) == []
