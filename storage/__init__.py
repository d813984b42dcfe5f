"""The only package that knows SQL and FAISS.

:class:`Store` keeps the catalog (SQLite through SQLAlchemy) and the vector index
(FAISS) of a data directory in step; everything else talks to it in plain records.
"""

from storage.errors import ModelMismatchError, StoreError, StoreLockedError, StoreNotFoundError
from storage.index_policy import IndexPolicy
from storage.records import Hit, ImageRecord, IndexBuild, ModelIdentity, NewImage, StoreStats
from storage.store import Store

__all__ = [
    "Hit",
    "ImageRecord",
    "IndexBuild",
    "IndexPolicy",
    "ModelIdentity",
    "ModelMismatchError",
    "NewImage",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreStats",
]
