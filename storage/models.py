"""SQLAlchemy 2 tables of the catalog. Only storage/ imports this module."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ImageRow(Base):
    """One distinct image (by content); its id is also its FAISS id."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String, index=True)  # folder or archive it came from
    member: Mapped[str] = mapped_column(String)  # path inside that folder or archive
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    mtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The last rebuild of the vector index (schema 2); NULL until the first one.
    index_built_vectors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_build_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_nprobe: Mapped[int | None] = mapped_column(Integer, nullable=True)
    index_recall_at_10: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_text_recall_at_10: Mapped[float | None] = mapped_column(Float, nullable=True)
    index_text_queries: Mapped[str | None] = mapped_column(String(16), nullable=True)


class EmbeddingRow(Base):
    """The vector of one image in one generation, kept so FAISS can always be rebuilt."""

    __tablename__ = "embeddings"

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SchemaVersionRow(Base):
    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
