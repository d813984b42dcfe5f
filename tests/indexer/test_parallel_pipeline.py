"""Decoding, the model and the store run on different threads; every vector still
lands on its own image, and a run is as complete as a one-image-at-a-time one."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import IndexRun
from service.searcher import model_identity
from storage import Store
from tests.vectors import assert_stored_equal


@pytest.fixture
def image_folder(tmp_path, make_image):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(11):  # not a multiple of the batch size: the last batch is partial
        make_image(seed, size=(30 + 3 * seed, 40)).save(folder / f"scene_{seed:02d}.{('png', 'jpg', 'tif')[seed % 3]}")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def _stored_vectors(store: Store) -> dict[str, np.ndarray]:
    records = store.get_many(store._vectors.ids().tolist())
    return {record.member: store.vector(record.id) for record in records.values()}


@pytest.mark.parametrize("batch_size, workers", [(3, 2), (4, 1)])
def test_each_image_gets_its_own_vector_through_the_threads(tmp_path, encoder, image_folder, batch_size, workers):
    from indexer.decode import decode_image

    with Store(tmp_path / "index", writable=True) as store:
        store.bind_model(model_identity(encoder))
        report = IndexRun(store, encoder, batch_size=batch_size, workers=workers, progress=False).run([image_folder])
        stored = _stored_vectors(store)
    assert (report.added, report.failed) == (11, 1)
    for member, vector in stored.items():
        alone = encoder.encode_images([decode_image((image_folder / member).read_bytes()).image])[0]
        assert_stored_equal(alone, vector, err_msg=member)


def test_error_in_the_model_stops_the_run_with_that_error(tmp_path, encoder, image_folder):
    class BrokenModel:
        """A real encoder whose model call fails, as when memory runs out."""

        def __init__(self, inner):
            self.inner = inner

        def preprocess(self, image):
            return self.inner.preprocess(image)

        def encode_pixels(self, pixels):
            raise MemoryError("out of memory in the model")

    with Store(tmp_path / "index", writable=True) as store:
        store.bind_model(model_identity(encoder))
        with pytest.raises(MemoryError, match="out of memory"):
            IndexRun(store, BrokenModel(encoder), batch_size=4, progress=False).run([image_folder])


def test_an_approximate_index_built_during_a_run_is_calibrated_on_the_models_text_queries(tmp_path, encoder, make_image):
    from storage import IndexPolicy

    folder = tmp_path / "many"
    folder.mkdir()
    for seed in range(90):
        make_image(seed, size=(24, 24)).save(folder / f"{seed:03d}.png")
    policy = IndexPolicy(exact_max_bytes=40 * encoder.spec.dimension * 4, cell_size=16, min_train_per_cell=20)
    with Store(tmp_path / "index", writable=True, index_policy=policy) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, batch_size=16, progress=False).run([folder])
        build = store.stats().index_build
    assert build.index_type.startswith("IVF")
    assert build.text_queries == "model"
    assert build.recall_at_10 >= policy.target_recall and build.text_recall_at_10 >= policy.target_recall
