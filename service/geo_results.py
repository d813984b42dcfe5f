"""Place and time for queries and results, shared by the CLI and the HTTP API.

Parses the filter arguments people type (``minlon,minlat,maxlon,maxlat``, ISO dates,
a source prefix) into ``storage.SearchFilters``, and shapes a result's geo metadata as
JSON and GeoJSON (RFC 7946: lon/lat order, rings closed, counter-clockwise exterior).
"""

from __future__ import annotations

import re
from datetime import date

from storage import GeoInfo, Hit, SearchFilters

_LON = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[0-9]{1,2})(?:\.[0-9]+)?)"
_LAT = r"-?(?:90(?:\.0+)?|[0-8]?[0-9](?:\.[0-9]+)?)"
# Four numbers in range, in plain decimals (no exponent, no inf/nan, no "+"): the form the API
# publishes in its schema and checks, so a request the schema allows is one this accepts
# (apart from min <= max, which a pattern cannot say).
BBOX_PATTERN = rf"^ *{_LON} *, *{_LAT} *, *{_LON} *, *{_LAT} *$"


# What each filter is called where people type it: the API's fields, the CLI's flags.
FIELD_NAMES = {"bbox": "bbox", "date_from": "date_from", "date_to": "date_to"}
FLAG_NAMES = {"bbox": "--bbox", "date_from": "--date-from", "date_to": "--date-to"}


def parse_bbox(text: str, name: str = "bbox") -> tuple[float, float, float, float]:
    if not re.search(BBOX_PATTERN, text):
        raise ValueError(
            f"{name} must be four numbers minlon,minlat,maxlon,maxlat in degrees "
            f"(longitudes -180..180, latitudes -90..90), not {text[:100]!r}"
        )
    min_lon, min_lat, max_lon, max_lat = values = tuple(float(part) for part in text.split(","))
    if not (min_lon <= max_lon and min_lat <= max_lat):
        raise ValueError(
            f"{name} {text!r} is not minlon,minlat,maxlon,maxlat in degrees with min <= max "
            "(boxes across the antimeridian are not supported: split them in two)"
        )
    return values


def parse_date(text: str | date, name: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a date like 2014-07-20, not {text!r}") from None


def make_filters(
    bbox: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    source: str | None = None,
    names: dict[str, str] = FIELD_NAMES,
) -> SearchFilters | None:
    """Filters from the arguments people give (None where not given); ValueError with a clear
    message that calls each filter by ``names`` (the API's fields, or the CLI's ``FLAG_NAMES``)."""
    filters = SearchFilters(
        bbox=None if bbox is None else parse_bbox(bbox, names["bbox"]),
        date_from=None if date_from is None else parse_date(date_from, names["date_from"]),
        date_to=None if date_to is None else parse_date(date_to, names["date_to"]),
        source=source or None,
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValueError(
            f"{names['date_from']} {filters.date_from} is after {names['date_to']} {filters.date_to}"
        )
    return filters if filters.active else None


def item_name(image) -> str:
    """What people call an item inside its source: a chip's scene (for a band stack its
    pattern, ``LC08_..._B{4,3,2}.TIF``, not the red band's file), else its file."""
    return image.geo.scene if image.geo is not None and image.geo.scene else image.member


def footprint_geometry(geo: GeoInfo | None) -> dict | None:
    """The chip's outline as a GeoJSON Polygon, or None for items without georeferencing."""
    if geo is None or geo.footprint is None:
        return None
    ring = [list(corner) for corner in geo.footprint]
    if _signed_area(ring) < 0:  # RFC 7946: exterior rings run counter-clockwise
        ring.reverse()
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1])) / 2


def geo_json(geo: GeoInfo | None) -> dict | None:
    """A result's geo metadata as plain JSON (None for plain pictures)."""
    if geo is None:
        return None
    return {
        "scene": geo.scene,
        "window": dict(zip(("x", "y", "width", "height"), geo.window)),
        "bands": geo.bands,
        "crs": geo.crs,
        "bbox": None if geo.bbox is None else [round(v, 7) for v in geo.bbox],
        "footprint": footprint_geometry(geo),
        "resolution_m": None if geo.resolution_m is None else round(geo.resolution_m, 3),
        "acquired": None if geo.acquired is None else geo.acquired.isoformat(),
        "sensor": geo.sensor,
    }


def feature_collection(hits: list[Hit], properties: list[dict]) -> dict:
    """Results as a GeoJSON FeatureCollection; items without a footprint get a null geometry."""
    features = []
    for hit, props in zip(hits, properties):
        feature = {"type": "Feature", "id": hit.image.id, "geometry": footprint_geometry(hit.image.geo)}
        if hit.image.geo is not None and hit.image.geo.bbox is not None:
            feature["bbox"] = list(hit.image.geo.bbox)
        if isinstance(props.get("geo"), dict):  # the outline is the feature's geometry already
            props = {**props, "geo": {key: value for key, value in props["geo"].items() if key != "footprint"}}
        feature["properties"] = props
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}
