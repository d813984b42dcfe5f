"""Plain typed records that cross the storage boundary (callers never see ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class GeoInfo:
    """Where a raster chip comes from (scene, bands, window, stretch) and where it lies on Earth.

    The first group lets the chip be read again exactly as it was indexed; the second is
    None for rasters without georeferencing (and the date and sensor when unknown).
    """

    scene: str  # the scene's name: its file, or a band stack's pattern
    layers: tuple[tuple[str, int], ...]  # (member, 1-based band) for red, green, blue, or one for grey
    window: tuple[int, int, int, int]  # x, y, width, height in native scene pixels
    stretch: tuple[tuple[float, float], ...]  # value range per layer mapped onto 0..255
    bands: str  # the bands shown, as the user names them: "3,2,1" or "4,3,2" for a stack
    crs: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat (EPSG:4326)
    footprint: tuple[tuple[float, float], ...] | None = None  # (lon, lat) corners, clockwise from top-left
    resolution_m: float | None = None
    acquired: date | None = None
    sensor: str | None = None
    # sha256 of the scene's content when the chip was cut: what its pixels are checked
    # against before they are served (None for chips indexed before schema version 6)
    scene_sha256: str | None = None
    fill: float | None = None  # undeclared fill value masked at indexing (see indexer.raster.edge_fill)


@dataclass(frozen=True)
class SearchFilters:
    """Which items a search may return; every given condition must hold.

    ``bbox`` keeps items whose footprint box intersects it (no antimeridian wrap);
    ``date_from``/``date_to`` are inclusive and keep only items with a known date;
    ``source`` is a prefix of the item's folder or archive, or of its full location.
    """

    bbox: tuple[float, float, float, float] | None = None
    date_from: date | None = None
    date_to: date | None = None
    source: str | None = None

    @property
    def active(self) -> bool:
        return any(value is not None for value in (self.bbox, self.date_from, self.date_to, self.source))


@dataclass(frozen=True)
class NewImage:
    """An image the indexer has decoded and wants stored."""

    source: str
    member: str
    sha256: str
    byte_size: int
    width: int
    height: int
    format: str
    mtime: float | None = None
    geo: GeoInfo | None = None


@dataclass(frozen=True)
class ImageRecord:
    id: int
    source: str
    member: str
    sha256: str
    byte_size: int
    width: int
    height: int
    format: str
    mtime: float | None
    added_at: datetime
    geo: GeoInfo | None = None


@dataclass(frozen=True)
class ModelIdentity:
    """Which model made the vectors: a name for people, a fingerprint for the check."""

    model_id: str
    fingerprint: str
    dimension: int


@dataclass(frozen=True)
class Hit:
    score: float
    image: ImageRecord  # image.geo carries the footprint of raster chips


@dataclass(frozen=True)
class StoreStats:
    items: int
    vectors: int
    sources: dict[str, int]
    model: ModelIdentity | None
    index_type: str | None
    index_version: int
    disk_bytes: int
    database_url: str
    files: dict[str, int] = field(default_factory=dict)
    index_build: "IndexBuild | None" = None  # None: never rebuilt (a plain exact index)
    memory_budget: int = 0  # bytes the vector index may take in RAM (the policy's budget)
    index_memory: int = 0  # what the index in service takes (estimate)


@dataclass(frozen=True)
class SearchDepth:
    """How deep one kind of query searches an approximate index: the cells it reads (nprobe)
    and the candidates it re-ranks exactly (a PQ index; None where scores are exact already).
    ``candidates``: the PQ candidates it takes, when more than it re-ranks (those re-ranked
    are the best by corrected score: :mod:`storage.text_axis`); None: as many as it re-ranks."""

    nprobe: int
    rerank: int | None = None
    candidates: int | None = None


IMAGE_QUERIES, TEXT_QUERIES = "image", "text"  # kinds of query, calibrated apart
QUERY_KINDS = (IMAGE_QUERIES, TEXT_QUERIES)


def checked_kind(kind: str) -> str:
    """``kind`` if it is a kind of query (ValueError otherwise)."""
    if kind not in QUERY_KINDS:
        raise ValueError(f"unknown kind of query {kind!r}; one of {QUERY_KINDS}")
    return kind


@dataclass(frozen=True)
class IndexBuild:
    """How the vector index was last (re)built, and what its approximation costs.

    Recall is recall@10 against exact search, measured at build time on probe queries
    made from the stored vectors (image-like and text-like); None for exact search.
    Each kind gets its own depth: a text query sits far from every image (the modality
    gap) and needs several times the cells an image query needs, which image queries
    (upload, more-like-this) need not pay for. A build recorded before the depths were
    split (schema 8 and older) has one depth, ``nprobe`` and ``rerank``, for both.
    """

    index_type: str
    vectors: int  # how many it held when built
    seconds: float
    nprobe: int | None = None  # image-like queries (both kinds where text_nprobe is None)
    recall_at_10: float | None = None  # image-like queries
    text_recall_at_10: float | None = None  # text-like queries
    text_queries: str | None = None  # "model": the model's own text vectors; "synthetic": stand-ins
    rerank: int | None = None  # candidates re-ranked exactly (PQ index), None where scores are exact already
    memory_budget: int | None = None  # bytes the index was allowed in RAM when built
    text_nprobe: int | None = None  # text-like queries
    text_rerank: int | None = None
    candidates: int | None = None  # PQ candidates taken, when more than re-ranked (schema 10)
    text_candidates: int | None = None
    text_cells: int | None = None  # cells of their own for what text queries lean towards (storage/coarse_cells.py)

    @property
    def exact(self) -> bool:
        return self.nprobe is None

    def depth(self, kind: str | None = None) -> SearchDepth | None:
        """The depth of one kind of query; of an unknown kind (None), the deeper of the two."""
        if self.exact:
            return None
        image = SearchDepth(self.nprobe, self.rerank, self.candidates)
        text = SearchDepth(
            self.text_nprobe or self.nprobe,
            self.text_rerank or self.rerank,
            self.text_candidates if self.text_rerank else self.candidates,
        )
        if kind is not None:
            return image if checked_kind(kind) == IMAGE_QUERIES else text
        reranks = [depth.rerank for depth in (image, text) if depth.rerank]
        taken = [depth.candidates for depth in (image, text) if depth.candidates]
        return SearchDepth(
            max(image.nprobe, text.nprobe),
            max(reranks) if reranks else None,
            max([*taken, *reranks]) if taken else None,
        )


@dataclass(frozen=True)
class RecordedLocation:
    """Where the catalog last saw a file or member, and which content it held then."""

    id: int
    source: str
    member: str
    byte_size: int
    mtime: float | None
    image_id: int
    sha256: str
    part: str = ""  # a raster chip's window "x,y,w,h" in the scene file; "" for a whole picture


@dataclass(frozen=True)
class Placement:
    """A file or member (or a chip window of one) that now holds content the catalog already has."""

    source: str
    member: str
    byte_size: int
    mtime: float | None
    sha256: str
    part: str = ""


@dataclass(frozen=True)
class ChangeSummary:
    """What a write did besides adding images: images dropped because no file holds them any more."""

    removed_images: int = 0
    removed_locations: int = 0


@dataclass(frozen=True)
class IndexVersion:
    """What is in service: the active generation and how many times its FAISS file was saved."""

    generation_id: int
    index_version: int


@dataclass(frozen=True)
class RunFailure:
    """An input an index run could not index: its name, a kind to count it by, and why."""

    source: str
    member: str
    kind: str
    reason: str


@dataclass(frozen=True)
class IndexRunRecord:
    """What one index run did. ``id`` is None until the run is recorded."""

    started_at: datetime
    finished_at: datetime
    inputs: tuple[str, ...]
    seen: int
    added: int
    already_indexed: int
    duplicates: int
    failed: int
    failures_by_kind: dict[str, int]
    id: int | None = None
