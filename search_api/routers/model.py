"""Ask the model directly: zero-shot classification, image-text probabilities, raw vectors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from service.scoring import DEFAULT_TEMPLATE, classify, text_probabilities
from search_api.admission import ModelTurn
from search_api.errors import BadRequestError
from search_api.models import (
    MAX_LABELS,
    Classification,
    Embedding,
    ErrorBody,
    LabelProbability,
    Similarity,
    TextProbability,
)
from search_api.request_checks import MAX_ID, FormBody
from search_api.services import SearcherDep, SettingsDep
from search_api.uploads import query_image_vector

router = APIRouter(
    tags=["model"],
    dependencies=[FormBody, ModelTurn],  # the body's type is checked before a turn is taken
    responses={code: {"model": ErrorBody} for code in (400, 404, 413, 415, 422, 503)},
)

ImageFile = Annotated[UploadFile | None, File(description="an uploaded photo; or give image_id")]
ImageId = Annotated[int | None, Form(ge=1, le=MAX_ID, description="an indexed image; or upload a file")]


def _texts(values: list[str], what: str) -> list[str]:
    texts = [value.strip() for value in values if value.strip()]
    if not texts:
        raise BadRequestError(f"give at least one non-empty {what}")
    if len(texts) > MAX_LABELS:
        raise BadRequestError(f"at most {MAX_LABELS} {what}s per request, got {len(texts)}")
    return texts


@router.post("/classify", response_model=Classification)
def classify_image(
    searcher: SearcherDep,
    settings: SettingsDep,
    labels: Annotated[list[str], Form(description="candidate labels; repeat the field for each")],
    template: Annotated[str, Form(description="prompt with {} where the label goes")] = DEFAULT_TEMPLATE,
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Classification:
    """Rank candidate labels for one image by the model's probability."""
    labels = _texts(labels, "label")
    vector = query_image_vector(searcher, file, image_id, settings)
    ranked = classify(searcher.encoder, vector, labels, template)
    return Classification(
        template=template,
        image_id=image_id,
        results=[
            LabelProbability(label=r.label, prompt=r.prompt, score=r.score, probability=r.probability) for r in ranked
        ],
    )


@router.post("/similarity", response_model=Similarity)
def similarity(
    searcher: SearcherDep,
    settings: SettingsDep,
    texts: Annotated[list[str], Form(description="texts to score; repeat the field for each")],
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Similarity:
    """The model's probability that each text describes the image."""
    texts = _texts(texts, "text")
    vector = query_image_vector(searcher, file, image_id, settings)
    scored = text_probabilities(searcher.encoder, vector, texts)
    return Similarity(
        image_id=image_id,
        results=[TextProbability(text=s.text, score=s.score, probability=s.probability) for s in scored],
    )


@router.post("/embed", response_model=Embedding)
def embed(
    searcher: SearcherDep,
    settings: SettingsDep,
    text: Annotated[str | None, Form(description="a text to embed; or give an image")] = None,
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Embedding:
    """The unit vector of one image or one text, as the index stores them."""
    if sum(value is not None for value in (text, file, image_id)) != 1:
        raise BadRequestError("give exactly one of: 'text', 'file' (an upload) or 'image_id'")
    if text is not None:
        vector, kind = searcher.text_vector(_texts([text], "text")[0]), "text"
    else:
        vector, kind = query_image_vector(searcher, file, image_id, settings), "image"
    spec = searcher.encoder.spec
    return Embedding(kind=kind, model=spec.model_id, dimension=len(vector), vector=vector.tolist())
