"""Indexed images: their metadata, the original bytes, and cached thumbnails."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from service.image_files import (
    DEFAULT_THUMBNAIL_SIZE,
    THUMBNAIL_SIZES,
    original_bytes,
)
from search_api.admission import ModelTurn
from search_api.models import ErrorBody, ImageInfo
from search_api.request_checks import FormBody, ImageIdPath, WholeNumber
from search_api.services import SearcherDep, SettingsDep, ThumbnailsDep
from search_api.shaping import image_model
from search_api.uploads import upload_image

router = APIRouter(prefix="/images", tags=["images"], responses={404: {"model": ErrorBody}})

# Content never changes under an id (it is keyed by sha256), so browsers may keep it.
_CACHE = {"Cache-Control": "public, max-age=86400"}
PREVIEW_SIZE = 512


@router.post(
    "/preview",
    name="upload_preview",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the upload as the model sees it, no larger than 512 px"},
        **{code: {"model": ErrorBody} for code in (400, 413, 415, 422)},
    },
    dependencies=[FormBody, ModelTurn],
)
def upload_preview(
    file: Annotated[UploadFile, File(description="a photo or GeoTIFF, as for /search/image")],
    settings: SettingsDep,
    thumbnails: ThumbnailsDep,
) -> Response:
    """A JPEG of an upload, decoded exactly as ``/search/image`` decodes it.

    Browsers cannot draw TIFF; this shows what the search will actually look for.
    Nothing is stored.
    """
    picture = upload_image(file, settings, model_size=PREVIEW_SIZE).image
    return Response(content=thumbnails.shrink(picture, PREVIEW_SIZE), media_type="image/jpeg")


@router.get("/{image_id}/info", response_model=ImageInfo, name="image_info")
def image_info(image_id: ImageIdPath, request: Request, searcher: SearcherDep) -> ImageInfo:
    return image_model(request, searcher.image(image_id))


@router.head("/{image_id}", name="image_original_head", response_class=Response)  # own operation id
@router.get(
    "/{image_id}",
    name="image_original",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}}, "description": "the image exactly as indexed"},
        410: {"model": ErrorBody, "description": "the file at the recorded location changed since it was indexed"},
    },
)
def image_original(image_id: ImageIdPath, searcher: SearcherDep) -> Response:
    data, content_type = original_bytes(searcher.image(image_id))
    return Response(content=data, media_type=content_type, headers=_CACHE)


@router.head("/{image_id}/thumbnail", name="image_thumbnail_head", response_class=Response, dependencies=[ModelTurn])
@router.get(
    "/{image_id}/thumbnail",
    name="image_thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "a JPEG no larger than size x size"},
        410: {"model": ErrorBody, "description": "the file at the recorded location changed since it was indexed"},
    },
    dependencies=[ModelTurn],  # decoding the original is the memory-heavy part
)
def image_thumbnail(
    image_id: ImageIdPath,
    searcher: SearcherDep,
    thumbnails: ThumbnailsDep,
    size: Annotated[
        int, Query(ge=THUMBNAIL_SIZES[0], le=THUMBNAIL_SIZES[1], description="longest side"), WholeNumber
    ] = DEFAULT_THUMBNAIL_SIZE,
) -> Response:
    return Response(content=thumbnails.get(searcher.image(image_id), size), media_type="image/jpeg", headers=_CACHE)
