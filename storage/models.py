"""SQLAlchemy 2 tables of the catalog. Only storage/ imports this module."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


# Image ids (also FAISS ids) are 64-bit: BIGINT on PostgreSQL (schema 8). SQLite keeps its
# INTEGER PRIMARY KEY, which is already 64 bits and the table's rowid.
IMAGE_ID = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ImageRow(Base):
    """One distinct image (by content); its id is also its FAISS id."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(IMAGE_ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String, index=True)  # folder or archive it came from
    member: Mapped[str] = mapped_column(String)  # path inside that folder or archive
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    byte_size: Mapped[int] = mapped_column(BigInteger)  # scenes pass 2 GiB: 64 bits on PostgreSQL
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    mtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geo: Mapped["ImageGeoRow | None"] = relationship(lazy="selectin", cascade="all, delete-orphan", passive_deletes=True)


class GenerationRow(Base):
    """An index generation: the vectors of every image under one model.

    Only one generation is active (served); keeping the model on the generation, not
    on the image, lets a later reindex build a new one beside the old.
    """

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String)
    model_fingerprint: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[int] = mapped_column(Integer)
    index_type: Mapped[str] = mapped_column(String(64))
    vector_count: Mapped[int] = mapped_column(Integer, default=0)
    index_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every FAISS save
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # building (reindex in progress, resumable) | ready (active, or kept) | retiring (to be removed)
    status: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The last rebuild of the vector index (schema 2); NULL until the first one.
    index_built_vectors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_build_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_nprobe: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_recall_at_10: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_text_recall_at_10: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_text_queries: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Schema 7: rows committed to the generation's vector file (storage/vector_file.py), how
    # many candidates a compressed index re-ranks exactly, and the memory budget it was built for.
    vector_slots: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    index_rerank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_memory_budget: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Schema 9: text-like queries' own depth (index_nprobe and index_rerank are image-like
    # queries' depth, and both kinds' where these are NULL).
    index_text_nprobe: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_text_rerank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Schema 10: PQ candidates each kind takes, when it re-ranks only the best of them by a
    # corrected score (storage/text_axis.py; NULL: it re-ranks all it takes), and the cells
    # trained for what text queries lean towards (storage/coarse_cells.py).
    index_candidates: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_text_candidates: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_text_cells: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EmbeddingRow(Base):
    """One image has a vector in one generation: row ``slot`` of the generation's vector
    file (float16 on disk, see storage/vector_file.py), so FAISS can always be rebuilt.
    ``slot`` -1: the vector was lost (a malformed one at migration); check re-embeds it."""

    __tablename__ = "embeddings"

    image_id: Mapped[int] = mapped_column(IMAGE_ID, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")


class LocationRow(Base):
    """Where an image's content is: a file or archive member, or one chip window of a
    raster scene in it (``part``, "x,y,w,h"; empty for a whole picture). Several
    locations may hold the same content.

    What lets a re-run skip unchanged files (same size and mtime), replace changed ones
    and prune deleted ones. ``indexing`` is the mark of a mark-and-sweep prune.
    """

    __tablename__ = "locations"
    __table_args__ = (Index("ix_locations_place", "source", "member", "part", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String)
    member: Mapped[str] = mapped_column(String)
    part: Mapped[str] = mapped_column(String, default="", server_default="")
    byte_size: Mapped[int] = mapped_column(BigInteger)  # scenes pass 2 GiB: 64 bits on PostgreSQL
    mtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    image_id: Mapped[int] = mapped_column(IMAGE_ID, ForeignKey("images.id", ondelete="CASCADE"), index=True)
    indexing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class IndexRunRow(Base):
    """One ``rsclip index`` run: what it saw, added and could not index (schema version 3)."""

    __tablename__ = "index_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[list] = mapped_column(JSON)  # the paths given, as text
    seen: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    already_indexed: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    failures_by_kind: Mapped[dict] = mapped_column(JSON)  # exact counts, even when rows are capped


class IndexFailureRow(Base):
    """An input a run could not index, by name with the reason (capped per run)."""

    __tablename__ = "index_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("index_runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String)
    member: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String)


class SchemaVersionRow(Base):
    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class ImageGeoRow(Base):
    """A raster chip's origin (scene, bands, window, stretch) and place and time on Earth.

    Only raster chips have a row; plain pictures have none. Lists are JSON text; the
    lon/lat box and the date are plain columns so filters run as indexed SQL.
    """

    __tablename__ = "image_geo"
    __table_args__ = (Index("ix_image_geo_lon", "min_lon", "max_lon"), Index("ix_image_geo_lat", "min_lat", "max_lat"))

    image_id: Mapped[int] = mapped_column(IMAGE_ID, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    scene: Mapped[str] = mapped_column(String)
    layers: Mapped[str] = mapped_column(Text)  # JSON [[member, band], ...]
    window_x: Mapped[int] = mapped_column(Integer)
    window_y: Mapped[int] = mapped_column(Integer)
    window_width: Mapped[int] = mapped_column(Integer)
    window_height: Mapped[int] = mapped_column(Integer)
    stretch: Mapped[str] = mapped_column(Text)  # JSON [[low, high], ...], or {"ranges": ..., "fill": v}
    bands: Mapped[str] = mapped_column(String)
    crs: Mapped[str | None] = mapped_column(Text, nullable=True)
    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    footprint: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [[lon, lat], ...] corners
    resolution_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    acquired: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    sensor: Mapped[str | None] = mapped_column(String, nullable=True)
    scene_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # schema version 6
