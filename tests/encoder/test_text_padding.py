"""SigLIP pools the last token: queries must be padded to the full text length."""

from __future__ import annotations

import numpy as np
import torch
from transformers import AutoModel, AutoProcessor


def _reference_text_vectors(checkpoint, texts, **tokenizer_options):
    model = AutoModel.from_pretrained(checkpoint).eval()
    processor = AutoProcessor.from_pretrained(checkpoint)
    tokens = processor(text=texts, return_tensors="pt", **tokenizer_options)
    with torch.no_grad():
        output = model.get_text_features(**tokens)
    vectors = output.pooler_output
    return torch.nn.functional.normalize(vectors, dim=-1).numpy()


TEXTS = ["a river winding through farmland", "an airport", "dense residential area with many houses"]


def test_text_vectors_equal_transformers_with_max_length_padding(tiny_checkpoint, encoder):
    reference = _reference_text_vectors(str(tiny_checkpoint), TEXTS, padding="max_length", truncation=True)
    np.testing.assert_allclose(encoder.encode_texts(TEXTS), reference, atol=1e-5)


def test_every_query_is_tokenized_to_the_models_full_length(encoder):
    tokens = encoder.tokenize(["short", "a much longer query about a harbor with many boats"])
    assert tokens["input_ids"].shape == (2, encoder.spec.text_max_length)


SHORT_TEXTS = ["a river", "an airport", "a forest next to a lake"]


def test_padding_to_longest_would_give_different_vectors(tiny_checkpoint, encoder):
    tokens = AutoProcessor.from_pretrained(str(tiny_checkpoint))(text=SHORT_TEXTS, padding=True)
    assert len(tokens["input_ids"][0]) < encoder.spec.text_max_length  # the batch really is padded shorter
    dynamic = _reference_text_vectors(str(tiny_checkpoint), SHORT_TEXTS, padding=True)
    ours = encoder.encode_texts(SHORT_TEXTS)
    # The last position SigLIP pools is a real token or a different pad: the vectors change.
    cosine = np.sum(dynamic * ours, axis=1)
    assert np.all(cosine < 0.999), cosine


def test_a_text_encodes_the_same_alone_or_in_a_batch(encoder):
    alone = encoder.encode_texts([TEXTS[1]])[0]
    batched = encoder.encode_texts(TEXTS)[1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)
