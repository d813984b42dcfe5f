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
    LabelText,
    QueryText,
    Similarity,
    Template,
    TextProbability,
)
from search_api.request_checks import MAX_ID, FormBody, WholeNumber
from search_api.services import SearcherDep, SettingsDep
from search_api.uploads import query_image_vector

router = APIRouter(
    tags=["model"],
    dependencies=[FormBody, ModelTurn],  # the body's type is checked before a turn is taken
    responses={code: {"model": ErrorBody} for code in (400, 404, 413, 415, 422, 503)},
)

# Optional form fields are typed without None (their default), so the schema declares a file part
# and an integer, not "or null", which a multipart form cannot send.
ImageFile = Annotated[
    UploadFile, File(description="an uploaded photo or GeoTIFF; or give image_id", json_schema_extra={"minLength": 1})
]
ImageId = Annotated[int, Form(ge=1, le=MAX_ID, description="an indexed image; or upload a file"), WholeNumber]
# Each text is capped and trimmed (models.capped_text); at most MAX_LABELS of them per request.
Labels = Annotated[
    list[LabelText], Form(min_length=1, max_length=MAX_LABELS, description="candidate labels; repeat the field for each")
]


def exactly_one_of(*fields: str) -> dict:
    """The rule the handler enforces, stated in the OpenAPI schema: the form holds exactly one of ``fields``."""
    one_of = [{"required": [field]} for field in fields]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"oneOf": one_of}}}}}


Texts = Annotated[
    list[QueryText], Form(min_length=1, max_length=MAX_LABELS, description="texts to score; repeat the field for each")
]


@router.post("/classify", response_model=Classification, openapi_extra=exactly_one_of("file", "image_id"))
def classify_image(
    searcher: SearcherDep,
    settings: SettingsDep,
    labels: Labels,
    template: Annotated[Template, Form(description="prompt with one {} where the label goes")] = DEFAULT_TEMPLATE,
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Classification:
    """Rank candidate labels for one image by the model's probability."""
    vector, reading = query_image_vector(searcher, file, image_id, settings)
    ranked = classify(searcher.encoder, vector, labels, template)
    return Classification(
        template=template,
        image_id=image_id,
        results=[
            LabelProbability(label=r.label, prompt=r.prompt, score=r.score, probability=r.probability) for r in ranked
        ],
        query=reading,
    )


@router.post("/similarity", response_model=Similarity, openapi_extra=exactly_one_of("file", "image_id"))
def similarity(
    searcher: SearcherDep,
    settings: SettingsDep,
    texts: Texts,
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Similarity:
    """The model's probability that each text describes the image."""
    vector, reading = query_image_vector(searcher, file, image_id, settings)
    scored = text_probabilities(searcher.encoder, vector, texts)
    return Similarity(
        image_id=image_id,
        results=[TextProbability(text=s.text, score=s.score, probability=s.probability) for s in scored],
        query=reading,
    )


@router.post("/embed", response_model=Embedding, openapi_extra=exactly_one_of("text", "file", "image_id"))
def embed(
    searcher: SearcherDep,
    settings: SettingsDep,
    text: Annotated[QueryText, Form(description="a text to embed; or give an image")] = None,
    file: ImageFile = None,
    image_id: ImageId = None,
) -> Embedding:
    """The unit vector of one image or one text, as the index stores them."""
    if sum(value is not None for value in (text, file, image_id)) != 1:
        raise BadRequestError("give exactly one of: 'text', 'file' (an upload) or 'image_id'")
    reading = None
    if text is not None:
        vector, kind = searcher.text_vector(text), "text"
    else:
        (vector, reading), kind = query_image_vector(searcher, file, image_id, settings), "image"
    spec = searcher.encoder.spec
    return Embedding(kind=kind, model=spec.model_id, dimension=len(vector), vector=vector.tolist(), query=reading)
