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
