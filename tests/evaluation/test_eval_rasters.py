"""eval and plot read GeoTIFFs as indexing does: zero-shot scores a scene's chips, retrieval
reads one query picture, the map draws chips (not whole scenes with their borders)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.embedding_map import EmbeddingMap, load_thumbnails
from evaluation.runners import ImageJob, embed_images
from indexer.chips import render_chip
from storage import Store
from tests.rasters import index_into, one_chip_scenes, provider_fill, textured, write_geotiff
from tests.vectors import assert_stored_equal


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("eval-rasters")
    scenes = one_chip_scenes(root / "scenes")
    big = write_geotiff(root / "scenes" / "big.tif", provider_fill(textured((3, 300, 300), 300, 9000, seed=6)))
    _report, records = index_into(root / "data", encoder, [scenes["rotated"], big])
    return root, scenes["rotated"], big, records


def job(path):
    return ImageJob(str(path), path.read_bytes, str(path))


def test_zeroshot_scores_each_chip_of_a_scene_with_the_indexed_vectors(indexed, encoder):
    root, rotated, big, records = indexed
    vectors, kept, excluded = embed_images(encoder, [job(rotated), job(big)], chips=True)
    assert excluded == [] and kept == [0] + [1] * (len(records) - 1)
    with Store(root / "data") as store:
        expected = np.stack([store.vector(record.id) for record in records])
    assert_stored_equal(vectors, expected)


def test_retrieval_reads_a_one_chip_geotiff_as_its_indexed_chip(indexed, encoder):
    root, rotated, _big, records = indexed
    vectors, kept, _excluded = embed_images(encoder, [job(rotated)], chips=False)
    with Store(root / "data") as store:
        assert_stored_equal(vectors[0], store.vector(records[0].id))


def test_the_map_draws_chips_not_whole_scenes(indexed):
    root, _rotated, _big, records = indexed
    chip = records[-1]  # a 256-px chip of the 300-px scene
    with Store(root / "data") as store:
        embedding_map = EmbeddingMap(np.array([chip.id]), np.zeros((1, 2)), ["x"], ["big.tif"], [0], {})
        [picture] = load_thumbnails(store, embedding_map).values()
    assert picture.size == (chip.width, chip.height) == (256, 256)
    assert np.array_equal(np.asarray(picture), np.asarray(render_chip(chip)))
