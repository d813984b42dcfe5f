"""The only package that knows SQL and FAISS.

:class:`Store` keeps the catalog (SQLite through SQLAlchemy) and the vector index
(FAISS) of a data directory in step; everything else talks to it in plain records.
"""

from storage.errors import ModelMismatchError, StoreError, StoreLockedError, StoreNotFoundError, StoreWriteError
from storage.index_policy import IndexPolicy
from storage.records import (
    GeoInfo,
    Hit,
    ImageRecord,
    IMAGE_QUERIES,
    TEXT_QUERIES,
    IndexBuild,
    IndexRunRecord,
    ModelIdentity,
    NewImage,
    Placement,
    RecordedLocation,
    RunFailure,
    SearchFilters,
    StoreStats,
)
from storage.store import Store

__all__ = [
    "IMAGE_QUERIES",
    "TEXT_QUERIES",
    "GeoInfo",
    "Hit",
    "ImageRecord",
    "IndexBuild",
    "IndexPolicy",
    "IndexRunRecord",
    "ModelIdentity",
    "ModelMismatchError",
    "NewImage",
    "Placement",
    "RecordedLocation",
    "RunFailure",
    "SearchFilters",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreStats",
    "StoreWriteError",
]
