"""Ask the model about one image: which label fits it, how well each text describes it.

Probabilities are the model's own (``Encoder.probabilities``): for SigLIP an
independent sigmoid per text, so they need not sum to one; for CLIP a softmax over
the texts given. Labels are put in a prompt template first, as SigLIP-family models
were trained on captions, not bare words.
"""

from __future__ import annotations

import re

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from encoder import Encoder

DEFAULT_TEMPLATE = "a remote sensing image of {}"


class BadTemplateError(ValueError):
    pass


@dataclass(frozen=True)
class TextScore:
    text: str
    score: float  # cosine similarity
    probability: float


@dataclass(frozen=True)
class LabelScore:
    label: str
    prompt: str
    score: float
    probability: float


# One placeholder and no other brace, so a prompt is never more than template + label long.
TEMPLATE_PATTERN = r"^[^{}]*\{\}[^{}]*$"


def check_template(template: str) -> str:
    if not re.search(TEMPLATE_PATTERN, template):
        raise BadTemplateError(
            f"the prompt template must contain exactly one {{}} where the label goes, and no other "
            f"brace, got {template[:100]!r}"
        )
    return template


def fill_template(template: str, label: str) -> str:
    return check_template(template).replace("{}", label)


def text_probabilities(encoder: Encoder, image_vector: np.ndarray, texts: Sequence[str]) -> list[TextScore]:
    """How well each text describes the image, in the order given."""
    image_vector = np.atleast_2d(np.asarray(image_vector, dtype=np.float32))
    text_vectors = encoder.encode_texts(list(texts))
    scores = (image_vector @ text_vectors.T)[0]
    probabilities = encoder.probabilities(image_vector, text_vectors)[0]
    return [TextScore(text, float(s), float(p)) for text, s, p in zip(texts, scores, probabilities)]


def classify(
    encoder: Encoder, image_vector: np.ndarray, labels: Sequence[str], template: str = DEFAULT_TEMPLATE
) -> list[LabelScore]:
    """Candidate labels ranked by the model's probability, best first."""
    prompts = [fill_template(template, label) for label in labels]
    scored = text_probabilities(encoder, image_vector, prompts)
    ranked = [LabelScore(label, s.text, s.score, s.probability) for label, s in zip(labels, scored)]
    return sorted(ranked, key=lambda item: item.probability, reverse=True)
