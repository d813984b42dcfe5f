"""Raster chips' geo rows: to and from records, and the SQL behind place/time/source filters."""

from __future__ import annotations

import json

from sqlalchemy import Select, and_, func, or_, select

from storage.models import ImageGeoRow, ImageRow
from storage.records import GeoInfo, SearchFilters


def geo_row(info: GeoInfo) -> ImageGeoRow:
    bbox = info.bbox or (None, None, None, None)
    return ImageGeoRow(
        scene=info.scene,
        layers=json.dumps([[member, int(band)] for member, band in info.layers]),
        window_x=info.window[0],
        window_y=info.window[1],
        window_width=info.window[2],
        window_height=info.window[3],
        stretch=json.dumps(_stretch_json(info)),
        bands=info.bands,
        crs=info.crs,
        min_lon=bbox[0],
        min_lat=bbox[1],
        max_lon=bbox[2],
        max_lat=bbox[3],
        footprint=None if info.footprint is None else json.dumps([list(corner) for corner in info.footprint]),
        resolution_m=info.resolution_m,
        acquired=info.acquired,
        sensor=info.sensor,
        scene_sha256=info.scene_sha256,
    )


def geo_info(row: ImageGeoRow | None) -> GeoInfo | None:
    if row is None:
        return None
    has_bbox = row.min_lon is not None
    return GeoInfo(
        scene=row.scene,
        layers=tuple((member, band) for member, band in json.loads(row.layers)),
        window=(row.window_x, row.window_y, row.window_width, row.window_height),
        **_stretch_fields(json.loads(row.stretch)),
        bands=row.bands,
        crs=row.crs,
        bbox=(row.min_lon, row.min_lat, row.max_lon, row.max_lat) if has_bbox else None,
        footprint=None if row.footprint is None else tuple(tuple(corner) for corner in json.loads(row.footprint)),
        resolution_m=row.resolution_m,
        acquired=row.acquired,
        sensor=row.sensor,
        scene_sha256=row.scene_sha256,
    )


def _stretch_json(info: GeoInfo):
    """The stretch column: the ranges as a list, or with an undeclared fill value
    ``{"ranges": [...], "fill": v}``; rows written before fill was known stay lists."""
    ranges = [[float(low), float(high)] for low, high in info.stretch]
    return ranges if info.fill is None else {"ranges": ranges, "fill": float(info.fill)}


def _stretch_fields(stored) -> dict:
    ranges, fill = (stored["ranges"], stored["fill"]) if isinstance(stored, dict) else (stored, None)
    return {"stretch": tuple((low, high) for low, high in ranges), "fill": fill}


def _starts_with(column, prefix: str):
    # substr, not LIKE: LIKE ignores case in SQLite, and paths are case-sensitive.
    return func.substr(column, 1, len(prefix)) == prefix


def matching_ids_query(filters: SearchFilters) -> Select:
    """Ids of the items that pass every given filter."""
    query = select(ImageRow.id)
    if filters.bbox is not None or filters.date_from is not None or filters.date_to is not None:
        query = query.join(ImageGeoRow, ImageGeoRow.image_id == ImageRow.id)
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        query = query.where(
            and_(
                ImageGeoRow.min_lon <= max_lon,
                ImageGeoRow.max_lon >= min_lon,
                ImageGeoRow.min_lat <= max_lat,
                ImageGeoRow.max_lat >= min_lat,
            )
        )
    if filters.date_from is not None:
        query = query.where(ImageGeoRow.acquired >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(ImageGeoRow.acquired <= filters.date_to)
    if filters.source is not None:
        query = query.where(
            or_(
                _starts_with(ImageRow.source, filters.source),
                _starts_with(ImageRow.source + "/" + ImageRow.member, filters.source),
                _starts_with(ImageRow.source + "!" + ImageRow.member, filters.source),
            )
        )
    return query
