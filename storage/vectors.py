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

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (queries, k); missing slots have id -1.

        ``allowed_ids`` restricts the search to those ids inside FAISS (an id selector),
        so the k slots are filled with allowed items, not filtered away afterwards.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, max(self.count, 1)))
        if allowed_ids is None:
            return self._index.search(queries, k)
        allowed_ids = np.ascontiguousarray(allowed_ids, dtype=np.int64)
        params = self._search_parameters(faiss.IDSelectorBatch(allowed_ids))
        return self._index.search(queries, min(k, max(len(allowed_ids), 1)), params=params)

    def _search_parameters(self, selector: faiss.IDSelector) -> faiss.SearchParameters:
        # IVF and HNSW indexes need their own parameter class (carrying nprobe/efSearch).
        return faiss.SearchParameters(sel=selector)
