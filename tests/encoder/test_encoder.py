"""Image vectors, preprocessing and the model's probabilities."""

from __future__ import annotations

import numpy as np
import torch
from transformers import AutoModel, AutoProcessor


def test_image_vectors_are_unit_length_float32_of_the_checkpoint_dimension(encoder, make_image):
    vectors = encoder.encode_images([make_image(1), make_image(2, size=(300, 120))])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, encoder.spec.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_preprocessing_is_the_checkpoints_own_processor(tiny_checkpoint, encoder, make_image):
    image = make_image(3, size=(97, 61))
    processor = AutoProcessor.from_pretrained(str(tiny_checkpoint))
    expected = processor(images=image, return_tensors="np")["pixel_values"][0]
    np.testing.assert_allclose(encoder.preprocess(image), expected, atol=1e-6)
    assert encoder.preprocess(image).shape == (3, encoder.spec.image_size, encoder.spec.image_size)


def test_image_vectors_equal_transformers_reference(tiny_checkpoint, encoder, make_image):
    images = [make_image(seed) for seed in range(3)]
    model = AutoModel.from_pretrained(str(tiny_checkpoint)).eval()
    pixels = AutoProcessor.from_pretrained(str(tiny_checkpoint))(images=images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        reference = torch.nn.functional.normalize(model.get_image_features(pixel_values=pixels).pooler_output, dim=-1)
    np.testing.assert_allclose(encoder.encode_images(images), reference.numpy(), atol=1e-5)


def test_probability_is_sigmoid_of_scaled_cosine_plus_bias(tiny_checkpoint, encoder, make_image):
    model = AutoModel.from_pretrained(str(tiny_checkpoint))
    image_vectors = encoder.encode_images([make_image(4)])
    text_vectors = encoder.encode_texts(["a forest", "a harbor"])
    cosine = image_vectors @ text_vectors.T
    scale, bias = model.logit_scale.exp().item(), model.logit_bias.item()
    expected = 1 / (1 + np.exp(-(cosine * scale + bias)))
    np.testing.assert_allclose(encoder.probabilities(image_vectors, text_vectors), expected, rtol=1e-5)


def test_empty_inputs_give_empty_arrays(encoder):
    assert encoder.encode_texts([]).shape == (0, encoder.spec.dimension)
    assert encoder.encode_images([]).shape == (0, encoder.spec.dimension)
