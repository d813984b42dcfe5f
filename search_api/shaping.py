"""Turn service records into response models (URLs included), in one place."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import Request

from indexer.sources import location
from service.geo_results import feature_collection, geo_json, item_name
from search_api.models import ImageInfo, ResultFeatureCollection, SearchResult, SearchResults
from storage import Hit, ImageRecord


def image_info(request: Request, record: ImageRecord) -> dict:
    return {
        "id": record.id,
        "source": record.source,
        "member": record.member,
        "location": location(record.source, item_name(record)),  # a band stack as the stack
        "width": record.width,
        "height": record.height,
        "format": record.format,
        "sha256": record.sha256,
        "byte_size": record.byte_size,
        "added_at": utc(record.added_at),
        "image_url": str(request.url_for("image_original", image_id=record.id).path),
        "thumbnail_url": str(request.url_for("image_thumbnail", image_id=record.id).path),
        "geo": geo_json(record.geo),
    }


def utc(moment: datetime) -> datetime:
    """The catalog keeps UTC; SQLite hands it back without its zone, so say it (RFC 3339 needs an offset)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def image_model(request: Request, record: ImageRecord) -> ImageInfo:
    return ImageInfo(**image_info(request, record))


def search_results(
    request: Request, hits: list[Hit], k: int, offset: int, format: str = "json", query: str | None = None
) -> SearchResults | ResultFeatureCollection:
    results = [
        SearchResult(rank=offset + rank, score=hit.score, **image_info(request, hit.image))
        for rank, hit in enumerate(hits, start=1)
    ]
    if format == "geojson":
        properties = [result.model_dump(mode="json") for result in results]
        return ResultFeatureCollection(**feature_collection(hits, properties), query=query)
    return SearchResults(k=k, offset=offset, results=results, query=query)
