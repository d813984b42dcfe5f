"""Request and response bodies: the contract the OpenAPI schema at /docs publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

MAX_K = 1000
MAX_OFFSET = 100_000
MAX_LABELS = 200
# Longer texts are refused (422). Within it, the model reads the first text_max_length
# tokens (64 for Git-RSCLIP) and drops the rest, exactly as in training.
MAX_QUERY_CHARS = 2000

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]
K = Annotated[int, Field(ge=1, le=MAX_K, description="number of results")]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="results to skip first (paging)")]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    items: int
    model: str


class Stats(BaseModel):
    items: int
    vectors: int
    sources: dict[str, int]
    model: str | None
    model_fingerprint: str | None
    model_random_weights: bool = Field(
        False, description="True for the tiny random checkpoint of the offline demo: rankings mean nothing"
    )
    dimension: int | None
    index_type: str | None
    index_version: int
    disk_bytes: int


class TextQuery(BaseModel):
    query: NonEmptyText = Field(examples=["a river winding through farmland"])
    k: K = 10
    offset: Offset = 0


class ImageInfo(BaseModel):
    id: int
    source: str = Field(description="folder or archive the image was indexed from")
    member: str = Field(description="path inside that folder or archive")
    location: str = Field(description="source and member as one name, archive.zip!inner/path.jpg")
    width: int
    height: int
    format: str
    sha256: str
    byte_size: int
    added_at: datetime
    image_url: str
    thumbnail_url: str


class SearchResult(ImageInfo):
    rank: int
    score: float = Field(description="cosine similarity to the query, -1..1")


class SearchResults(BaseModel):
    k: int
    offset: int
    results: list[SearchResult]


class LabelProbability(BaseModel):
    label: str
    prompt: str = Field(description="the text the model saw: the template filled with the label")
    score: float = Field(description="cosine similarity of image and prompt")
    probability: float = Field(description="the model's probability that the prompt describes the image")


class Classification(BaseModel):
    template: str
    image_id: int | None
    results: list[LabelProbability] = Field(description="best label first")


class TextProbability(BaseModel):
    text: str
    score: float
    probability: float


class Similarity(BaseModel):
    image_id: int | None
    results: list[TextProbability] = Field(description="in the order the texts were given")


class Embedding(BaseModel):
    kind: Literal["image", "text"]
    model: str
    dimension: int
    vector: list[float]


class Reloaded(BaseModel):
    items: int
    vectors: int
    index_version: int


class ErrorBody(BaseModel):
    detail: str | list = Field(description="why the request failed")
