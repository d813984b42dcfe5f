"""The FAISS side of the store: vectors keyed by catalog id, searched by inner product.

Vectors are unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from storage.atomic import atomic_write_bytes

EXACT_INDEX = "IDMap2,Flat"


class VectorIndex:
    """A FAISS ``IndexIDMap2`` whose ids are the ids of the ``images`` table."""

    def __init__(self, index: faiss.Index):
        self._index = index

    @classmethod
    def create(cls, dimension: int) -> "VectorIndex":
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, faiss.serialize_index(self._index).tobytes())

    @property
    def dimension(self) -> int:
        return self._index.d

    @property
    def count(self) -> int:
        return self._index.ntotal

    @property
    def index_type(self) -> str:
        return EXACT_INDEX

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimension}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def reconstruct(self, item_id: int) -> np.ndarray:
        return self._index.reconstruct(int(item_id))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (queries, k); missing slots have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, max(self.count, 1)))
        return self._index.search(queries, k)
