"""Ranked images for a text, an uploaded photo, or an indexed image."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from search_api.admission import ModelTurn
from search_api.filters import FormFiltersDep, FormFormat, QueryFiltersDep, QueryFormat, filters_of
from search_api.models import MAX_K, MAX_OFFSET, ErrorBody, ResultFeatureCollection, SearchResults, TextQuery
from search_api.request_checks import FormBody, ImageIdPath, JsonBody, WholeNumber
from search_api.services import SearcherDep, SettingsDep
from search_api.shaping import search_results
from search_api.uploads import upload_image

router = APIRouter(
    prefix="/search",
    tags=["search"],
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)

_UPLOAD_ERRORS = {400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 415: {"model": ErrorBody}}
# format=geojson answers a FeatureCollection of the results' footprints instead.
Results = SearchResults | ResultFeatureCollection


@router.post(
    "/text",
    response_model=Results,
    dependencies=[JsonBody, ModelTurn],
    responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
def search_text(body: TextQuery, request: Request, searcher: SearcherDep) -> Results:
    """Images that match a description, best first."""
    hits = searcher.search_text(body.query, body.k, body.offset, filters_of(body))
    return search_results(request, hits, body.k, body.offset, body.format)


@router.post("/image", response_model=Results, dependencies=[FormBody, ModelTurn], responses=_UPLOAD_ERRORS)
def search_image(
    request: Request,
    searcher: SearcherDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="a photo (JPEG, PNG, TIFF, WebP...) or a GeoTIFF scene", json_schema_extra={"minLength": 1}),
    ],
    k: Annotated[int, Form(ge=1, le=MAX_K), WholeNumber] = 10,
    offset: Annotated[int, Form(ge=0, le=MAX_OFFSET), WholeNumber] = 0,
    filters: FormFiltersDep = None,
    format: FormFormat = "json",
) -> Results:
    """Indexed images that look like an uploaded photo or GeoTIFF, best first; ``query`` says how it was read."""
    picture = upload_image(file, settings, searcher.encoder.spec.image_size)
    hits = searcher.search_image(picture.image, k, offset, filters)
    return search_results(request, hits, k, offset, format, query=picture.reading)


@router.get(
    "/similar/{image_id}", response_model=Results, dependencies=[ModelTurn], responses={404: {"model": ErrorBody}}
)
def search_similar(
    image_id: ImageIdPath,
    request: Request,
    searcher: SearcherDep,
    k: Annotated[int, Query(ge=1, le=MAX_K), WholeNumber] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET), WholeNumber] = 0,
    filters: QueryFiltersDep = None,
    format: QueryFormat = "json",
) -> Results:
    """More like an indexed image (the image itself left out)."""
    hits = searcher.search_similar(image_id, k, offset, filters)
    return search_results(request, hits, k, offset, format)
