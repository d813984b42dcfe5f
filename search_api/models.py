"""Request and response bodies: the contract the OpenAPI schema at /docs publishes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints, field_validator, model_validator

from service.geo_results import BBOX_PATTERN, parse_bbox
from service.scoring import TEMPLATE_PATTERN, check_template

MAX_K = 1000
MAX_OFFSET = 100_000
# Every text is capped in characters (longer is a 422 naming the limit). Within the cap, the
# model reads the first text_max_length tokens (64 for Git-RSCLIP) and drops the rest,
# exactly as in training.
MAX_QUERY_CHARS = 2000  # a search query, a text to score or to embed
MAX_LABEL_CHARS = 300
MAX_TEMPLATE_CHARS = 300
MAX_LABELS = 200  # labels (or texts) per request, so at most 200 prompts of 600 characters
MAX_PROMPT_CHARS = MAX_TEMPLATE_CHARS - 2 + MAX_LABEL_CHARS
MAX_SOURCE_CHARS = 4096
# JSON Schema's pattern, searched (not anchored): at least one character that is not white space.
_HAS_TEXT = r"\S"
QUERY_READING = (
    "how an uploaded query image was read: a photo decoded as indexing does, a GeoTIFF's one chip, "
    "or a bigger scene read whole at the model's input size (null for text or an indexed id)"
)


def _stripped_text(value: str) -> str:
    """Trim, and refuse what is only white space (the same white space as the pattern's \\s)."""
    value = value.strip()
    if not value:
        raise ValueError("must contain a character that is not white space")
    return value


def capped_text(max_chars: int, description: str | None = None):
    """A text of at most ``max_chars`` characters as sent, not only white space, used trimmed."""
    return Annotated[
        str,
        StringConstraints(max_length=max_chars),
        AfterValidator(_stripped_text),
        Field(json_schema_extra={"pattern": _HAS_TEXT}, description=description),
    ]


QueryText = capped_text(MAX_QUERY_CHARS)
LabelText = capped_text(MAX_LABEL_CHARS)
Template = Annotated[
    str,
    StringConstraints(max_length=MAX_TEMPLATE_CHARS),
    AfterValidator(check_template),
    Field(json_schema_extra={"pattern": TEMPLATE_PATTERN}),
]
# Checked by parse_bbox (Python's re, as the schema's readers use), so the pattern is only declared here.
Bbox = Annotated[str, Field(json_schema_extra={"pattern": BBOX_PATTERN})]
Source = Annotated[str, StringConstraints(max_length=MAX_SOURCE_CHARS)]


def _json_integer(value):
    """JSON Schema's integer: 5 and 5.0 are, false and "5" are not (pydantic's lax mode would take both)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a whole number (a JSON number, not a string or true/false)")
    return value


JsonInteger = BeforeValidator(_json_integer)
K = Annotated[int, Field(ge=1, le=MAX_K, description="number of results"), JsonInteger]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="results to skip first (paging)"), JsonInteger]


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


BBOX_HELP = "footprint intersects this box: minlon,minlat,maxlon,maxlat in degrees (EPSG:4326)"
ResultFormat = Literal["json", "geojson"]
FORMAT_HELP = "json: SearchResults; geojson: a GeoJSON FeatureCollection of the results' footprints"


class SearchFilterFields(BaseModel):
    """Place, time and source filters; k is still filled when k matching items exist."""

    bbox: Bbox | None = Field(None, description=BBOX_HELP, examples=["-99.2,47.0,-99.1,47.1"])
    date_from: date | None = Field(None, description="acquired on or after this day (undated items never match)")
    date_to: date | None = Field(None, description="acquired on or before this day (not before date_from)")
    source: Source | None = Field(None, description="folder, archive or full path starts with this")

    @field_validator("bbox")
    @classmethod
    def _bbox_is_four_degrees(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bbox(value)
        return value

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self


class TextQuery(SearchFilterFields):
    query: QueryText = Field(examples=["a river winding through farmland"])
    k: K = 10
    offset: Offset = 0
    format: ResultFormat = Field("json", description=FORMAT_HELP)


class GeoMetadata(BaseModel):
    """Where a raster chip comes from and where it lies on Earth (absent for plain pictures)."""

    scene: str = Field(description="the scene: its file, or a band stack's pattern")
    window: dict[str, int] = Field(description="the chip's pixel window in the scene: x, y, width, height")
    bands: str = Field(description="the bands shown as red, green, blue (one: grey)")
    crs: str | None = Field(description="the scene's coordinate reference system, e.g. EPSG:32618")
    bbox: list[float] | None = Field(description="min_lon, min_lat, max_lon, max_lat (EPSG:4326)")
    footprint: dict[str, Any] | None = Field(description="the chip's outline as a GeoJSON Polygon (lon, lat)")
    resolution_m: float | None = Field(description="ground size of one chip pixel in metres")
    acquired: date | None = Field(description="acquisition date, when known")
    sensor: str | None


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
    added_at: AwareDatetime = Field(description="when it was indexed, in UTC")
    image_url: str
    thumbnail_url: str
    geo: GeoMetadata | None = Field(None, description="raster chips only")


class SearchResult(ImageInfo):
    rank: int
    score: float = Field(description="cosine similarity to the query, -1..1")


class SearchResults(BaseModel):
    k: int
    offset: int
    results: list[SearchResult]
    query: str | None = Field(None, description=QUERY_READING)


class ResultFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None = Field(description="the footprint (GeoJSON Polygon); null without one")
    bbox: list[float] | None = None
    properties: dict[str, Any] = Field(description="the SearchResult, its geo without the footprint")


class ResultFeatureCollection(BaseModel):
    """``format=geojson``: RFC 7946, lon/lat, best result first."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ResultFeature]
    query: str | None = Field(None, description=QUERY_READING)


class LabelProbability(BaseModel):
    label: str
    prompt: str = Field(description="the text the model saw: the template filled with the label")
    score: float = Field(description="cosine similarity of image and prompt")
    probability: float = Field(description="the model's probability that the prompt describes the image")


class Classification(BaseModel):
    template: str
    image_id: int | None
    results: list[LabelProbability] = Field(description="best label first")
    query: str | None = Field(None, description=QUERY_READING)


class TextProbability(BaseModel):
    text: str
    score: float
    probability: float


class Similarity(BaseModel):
    image_id: int | None
    results: list[TextProbability] = Field(description="in the order the texts were given")
    query: str | None = Field(None, description=QUERY_READING)


class Embedding(BaseModel):
    kind: Literal["image", "text"]
    model: str
    dimension: int
    vector: list[float]
    query: str | None = Field(None, description=QUERY_READING)


class Reloaded(BaseModel):
    items: int
    vectors: int
    index_version: int


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: body, query, path or form, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    detail: str = Field(description="why the request failed, in one sentence")
    errors: list[ValidationIssue] | None = Field(None, description="422 from validation: each problem found")


# Declared for every operation: any client error has this shape (the specific statuses each
# router adds say when they happen).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {"4XX": {"model": ErrorBody, "description": "Client Error"}}
