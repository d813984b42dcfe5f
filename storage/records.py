"""Plain typed records that cross the storage boundary (callers never see ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class ModelIdentity:
    """Which model made the vectors: a name for people, a fingerprint for the check."""

    model_id: str
    fingerprint: str
    dimension: int


@dataclass(frozen=True)
class Hit:
    score: float
    image: ImageRecord


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


@dataclass(frozen=True)
class Placement:
    """A file or member that (now) holds content the catalog already has."""

    source: str
    member: str
    byte_size: int
    mtime: float | None
    sha256: str


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
