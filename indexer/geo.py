"""Where and when a raster was taken: footprint, ground resolution, date and sensor.

Footprints are computed from the pixel window and the scene's affine transform, so
rotated (non north-up) scenes get their true corners. The bounding box is the one
``rasterio.warp.transform_bounds`` gives for the window's envelope in the scene CRS,
densified along the edges so curved lines of latitude are covered.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath

from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds

WGS84 = "EPSG:4326"
_METRES_PER_DEGREE = 2 * math.pi * 6_378_137.0 / 360  # on the WGS84 equator


@dataclass(frozen=True)
class Footprint:
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    corners: tuple[tuple[float, float], ...]  # (lon, lat) of the window's four corners, clockwise from top-left


def window_corners(transform: Affine, x: float, y: float, width: float, height: float) -> list[tuple[float, float]]:
    """The window's corners in scene coordinates; right for rotated transforms too."""
    return [transform @ (col, row) for col, row in ((x, y), (x + width, y), (x + width, y + height), (x, y + height))]


def window_footprint(crs: CRS | None, transform: Affine, x: float, y: float, width: float, height: float) -> Footprint | None:
    """Lon/lat footprint of a pixel window, or None for a raster without a CRS."""
    if crs is None:
        return None
    corners = window_corners(transform, x, y, width, height)
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    bbox = transform_bounds(crs, WGS84, min(xs), min(ys), max(xs), max(ys), densify_pts=21)
    lons, lats = warp_transform(crs, WGS84, xs, ys)
    return Footprint(bbox=tuple(float(v) for v in bbox), corners=tuple(zip(map(float, lons), map(float, lats))))


def ground_resolution_m(crs: CRS | None, transform: Affine, latitude: float | None = None) -> float | None:
    """Mean pixel size in metres; degrees are converted at ``latitude`` (the scene centre)."""
    if crs is None:
        return None
    size_x = math.hypot(transform.a, transform.d)
    size_y = math.hypot(transform.b, transform.e)
    if crs.is_geographic:
        cos_lat = math.cos(math.radians(latitude or 0.0))
        return (size_x * _METRES_PER_DEGREE * cos_lat + size_y * _METRES_PER_DEGREE) / 2
    try:
        factor = crs.linear_units_factor[1]
    except Exception:  # a CRS without linear units: assume metres rather than fail
        factor = 1.0
    return (size_x + size_y) / 2 * factor


# -- acquisition date -----------------------------------------------------------
# Metadata keys that name the acquisition itself (GDAL default domain, any case).
_ACQUISITION_KEYS = ("ACQUISITIONDATETIME", "ACQUISITION_DATE", "ACQUISITIONDATE", "DATE_ACQUIRED", "SENSING_TIME", "DATETIME_ORIGINAL")
_TAG_DATE = re.compile(r"(\d{4})[-:/](\d{2})[-:/](\d{2})")
# Pre-collection Landsat scene id, e.g. LC80440342013089LGN00: year and day of year.
_LANDSAT_SCENE_ID = re.compile(r"(?<![A-Z0-9])L[COTEM]\d{7}(\d{4})(\d{3})[A-Z]{3}\d{2}", re.IGNORECASE)
_COMPACT_DATE = re.compile(r"(?<!\d)((?:19[7-9]|20\d)\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_DASHED_DATE = re.compile(r"(?<!\d)((?:19[7-9]|20\d)\d)[-_](0[1-9]|1[0-2])[-_](0[1-9]|[12]\d|3[01])(?!\d)")


def acquisition_date(name: str, tags: dict[str, str] | None = None) -> date | None:
    """When the scene was taken, if anything says so.

    Order: acquisition metadata tags, then the file name (Landsat scene ids, dates
    like ``20140720`` or ``2014-07-20``; the first date in a Landsat product id is the
    acquisition), then the TIFF DateTime tag last, because TIFF defines it as the
    file's creation time, which for processed products is the processing date.
    """
    tags = {key.upper(): value for key, value in (tags or {}).items()}
    for key in _ACQUISITION_KEYS:
        found = _date_in_tag(tags.get(key))
        if found:
            return found
    found = date_in_name(name)
    return found or _date_in_tag(tags.get("TIFFTAG_DATETIME"))


def date_in_name(name: str) -> date | None:
    stem = PurePosixPath(name).name
    scene_id = _LANDSAT_SCENE_ID.search(stem)
    if scene_id:
        year, day = int(scene_id.group(1)), int(scene_id.group(2))
        try:
            return datetime.strptime(f"{year} {day}", "%Y %j").date()
        except ValueError:
            pass
    for pattern in (_COMPACT_DATE, _DASHED_DATE):
        for match in pattern.finditer(stem):
            found = _valid_date(*match.groups())
            if found:
                return found
    return None


def _date_in_tag(value: str | None) -> date | None:
    match = _TAG_DATE.search(value or "")
    return _valid_date(*match.groups()) if match else None


def _valid_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


# -- sensor -----------------------------------------------------------------------
_LANDSAT_SENSORS = {"LC": "Landsat {n} OLI/TIRS", "LO": "Landsat {n} OLI", "LT": "Landsat {n} TM", "LE": "Landsat {n} ETM+", "LM": "Landsat {n} MSS"}
_LANDSAT_ID = re.compile(r"(?<![A-Z0-9])(L[COTEM])0?(\d)(?:_|\d{6})", re.IGNORECASE)
_NAME_SENSORS = (
    (re.compile(r"(?<![A-Z0-9])S2([ABCD])_", re.IGNORECASE), "Sentinel-2{0}"),
    (re.compile(r"(?<![A-Z0-9])S1([ABCD])_", re.IGNORECASE), "Sentinel-1{0}"),
    (re.compile(r"sentinel[-_ ]?2", re.IGNORECASE), "Sentinel-2"),
    # "landsat8", "Landsat-7"; not "landsat_1985" (a year) or "landsat_2020".
    (re.compile(r"landsat[-_ ]?([1-9])(?![0-9])", re.IGNORECASE), "Landsat {0}"),
    (re.compile(r"naip|(?<![A-Z0-9])m_\d{7}_(?:ne|nw|se|sw)_", re.IGNORECASE), "NAIP"),
)
_SENSOR_KEYS = ("SENSOR", "SATELLITE", "SPACECRAFT_ID", "PLATFORM", "MISSION")


def sensor_name(name: str, tags: dict[str, str] | None = None) -> str | None:
    """The instrument or programme, from metadata tags or well-known file naming.

    Names count only in patterns that cannot mean anything else (Landsat and Sentinel
    product ids, NAIP tiles, "landsat8"); otherwise the sensor stays unknown: unknown is
    better than wrong.
    """
    tags = {key.upper(): value for key, value in (tags or {}).items()}
    for key in _SENSOR_KEYS:
        if tags.get(key, "").strip():
            return tags[key].strip()
    stem = PurePosixPath(name).name
    landsat = _LANDSAT_ID.search(stem)
    if landsat:
        return _LANDSAT_SENSORS[landsat.group(1).upper()].format(n=landsat.group(2))
    for pattern, label in _NAME_SENSORS:
        match = pattern.search(stem)
        if match:
            return label.format(*(group.upper() for group in match.groups()))
    return None


# -- sidecar files ------------------------------------------------------------------
_MTL_LINE = re.compile(r"^\s*([A-Z0-9_]+)\s*=\s*\"?([^\"]*)\"?\s*$")
_BAND_SUFFIX = re.compile(r"_(?:B\d+|B\d+A|BQA|QA_[A-Z_]+|SR_B\d+|ST_B\d+)$", re.IGNORECASE)
_MTL_READ_LIMIT = 1 << 20


def sidecar_tags(path) -> dict[str, str]:
    """Acquisition metadata from files delivered beside a raster: a Landsat ``*_MTL.txt``
    (``LC08_..._B4.TIF`` -> ``LC08_..._MTL.txt``). Returns tags in the keys
    :func:`acquisition_date` and :func:`sensor_name` read; empty when there is none."""
    from pathlib import Path

    path = Path(path)
    stem = _BAND_SUFFIX.sub("", path.stem)
    for candidate in (path.with_name(f"{stem}_MTL.txt"), path.with_name(f"{stem}_MTL.TXT")):
        if candidate.is_file():
            return _mtl_tags(candidate)
    return {}


def _mtl_tags(path) -> dict[str, str]:
    fields: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle.read(_MTL_READ_LIMIT).splitlines():
            match = _MTL_LINE.match(line)
            if match:
                fields.setdefault(match.group(1), match.group(2).strip())
    tags = {}
    if fields.get("DATE_ACQUIRED"):
        tags["DATE_ACQUIRED"] = fields["DATE_ACQUIRED"]
    spacecraft = re.fullmatch(r"LANDSAT_(\d)", fields.get("SPACECRAFT_ID", ""), re.IGNORECASE)
    if spacecraft:
        instrument = fields.get("SENSOR_ID", "").replace("_", "/").replace("ETM", "ETM+").replace("++", "+")
        tags["SENSOR"] = f"Landsat {spacecraft.group(1)} {instrument}".strip()
    return tags
