"""Fidelity to fp32: cosines, neighbour overlap, and the bar a precision must clear."""

from __future__ import annotations

import numpy as np
import pytest

from encoder import load_encoder
from encoder.runtime import Runtime
from evaluation.fidelity import neighbour_overlap, row_cosines, run_fidelity, top_k
from service.errors import UserError
from tests.conftest import noise_image


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_identical_vectors_keep_every_neighbour_and_cosine_one():
    vectors = unit(np.random.default_rng(0).normal(size=(30, 8)))
    overlap = neighbour_overlap((vectors, vectors), (vectors, vectors), k=10, exclude_self=True)
    assert overlap.tolist() == [1.0] * 30
    assert np.allclose(row_cosines(vectors, vectors), 1.0)


def test_scrambled_vectors_lose_neighbours():
    rng = np.random.default_rng(1)
    vectors = unit(rng.normal(size=(40, 8)))
    scrambled = vectors[rng.permutation(40)]
    overlap = neighbour_overlap((vectors, vectors), (scrambled, scrambled), k=5, exclude_self=True)
    assert overlap.mean() < 0.5


def test_an_image_is_never_its_own_neighbour():
    vectors = unit(np.random.default_rng(2).normal(size=(5, 4)))
    neighbours = top_k(vectors, vectors, k=10, exclude_self=True)
    assert neighbours.shape == (5, 4)
    assert all(row not in set(found) for row, found in enumerate(neighbours.tolist()))


@pytest.fixture(scope="module")
def int8_encoder(tiny_checkpoint):
    return load_encoder(str(tiny_checkpoint), runtime=Runtime(precision="int8"))


def test_int8_encoder_quantizes_every_linear_layer_of_both_towers(int8_encoder):
    from torch import nn
    from torch.ao.nn.quantized import dynamic

    modules = list(int8_encoder._model.modules())
    assert not [module for module in modules if type(module) is nn.Linear]
    quantized = {name.split(".")[0] for name, module in int8_encoder._model.named_modules() if isinstance(module, dynamic.Linear)}
    assert quantized == {"vision_model", "text_model"}


def test_int8_against_fp32_reports_cosines_overlaps_and_the_bar(tmp_path, encoder, int8_encoder):
    for seed in range(12):
        noise_image(seed).save(tmp_path / f"{seed:02d}.png")
    report = run_fidelity(encoder, int8_encoder, tmp_path, texts=["a river", "a town", "a river"], k=5)
    assert report.images == 12 and report.text_cosine["count"] == 2
    assert 0.99 < report.image_cosine["min"] < 1.0  # int8 moves vectors, a little
    assert report.image_overlap["queries"] == 12 and report.text_overlap["queries"] == 2
    same = run_fidelity(encoder, encoder, tmp_path, texts=["a river"], k=5)
    assert same.image_cosine["min"] == pytest.approx(1.0) and same.image_overlap["mean"] == 1.0 and same.passes


def test_fidelity_needs_two_pictures(tmp_path, encoder):
    noise_image(0).save(tmp_path / "only.png")
    with pytest.raises(UserError, match="at least 2"):
        run_fidelity(encoder, encoder, tmp_path)
