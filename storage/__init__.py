"""The only package that knows SQL and FAISS.

:class:`Store` keeps the catalog (SQLite through SQLAlchemy) and the vector index
(FAISS) of a data directory in step; everything else talks to it in plain records.
"""

from storage.errors import ModelMismatchError, StoreError, StoreLockedError, StoreNotFoundError
from storage.records import (
    GeoInfo,
    Hit,
    ImageRecord,
    ModelIdentity,
    NewImage,
    Placement,
    RecordedLocation,
    SearchFilters,
    StoreStats,
)
from storage.store import Store

__all__ = [
    "GeoInfo",
    "Hit",
    "ImageRecord",
    "ModelIdentity",
    "ModelMismatchError",
    "NewImage",
    "Placement",
    "RecordedLocation",
    "SearchFilters",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreStats",
]
