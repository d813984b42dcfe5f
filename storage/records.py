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
    index_build: "IndexBuild | None" = None  # None: never rebuilt (a plain exact index)


@dataclass(frozen=True)
class IndexBuild:
    """How the vector index was last (re)built, and what its approximation costs.

    Recall is recall@10 against exact search, measured at build time on probe queries
    made from the stored vectors (image-like and text-like); None for exact search.
    """

    index_type: str
    vectors: int  # how many it held when built
    seconds: float
    nprobe: int | None = None
    recall_at_10: float | None = None  # image-like queries
    text_recall_at_10: float | None = None  # text-like queries
    text_queries: str | None = None  # "model": the model's own text vectors; "synthetic": stand-ins

    @property
    def exact(self) -> bool:
        return self.nprobe is None
