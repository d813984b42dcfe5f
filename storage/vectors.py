"""The FAISS side of the store: vectors keyed by catalog id, searched by inner product.

Vectors are unit length, so inner product is cosine similarity. Two index types, both
keyed by the catalog's ids so removal and re-adding work the same way:

- exact: ``IndexIDMap2(IndexFlatIP)``, while a query may read every vector;
- approximate: ``IVF{cells},SQfp16`` (fp16 vectors in k-means cells, not stored as
  residuals) with its own ids and a hash-table direct map (for ``reconstruct`` and
  ``remove_ids``), once the collection is too big for exact search.

Which one, and when to rebuild, is :mod:`storage.index_policy`'s decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

from storage.atomic import atomic_write_bytes
from storage.index_policy import EXACT_INDEX, IndexPolicy, choose_nprobe, exact_neighbours, probe_queries
from storage.records import IndexBuild

log = logging.getLogger(__name__)

TextQueries = Callable[[], np.ndarray] | None  # the model's vectors of typical text queries

CHUNK = 16384  # vectors per block when streaming the whole index (about 64 MiB at 1024-d)


class VectorIndex:
    """A FAISS index whose ids are the ids of the ``images`` table."""

    def __init__(self, index: faiss.Index):
        self._index = index
        ivf = faiss.try_extract_index_ivf(index)
        self._ivf = None if ivf is None else faiss.downcast_index(ivf)
        if self._ivf is not None:
            # Queries arrive one at a time: split each query's cells over the cores
            # (mode 0 splits a batch's queries, leaving all but one core idle). 1.45x
            # faster at a million vectors on 2 cores. Not saved in the file: set on load.
            self._ivf.parallel_mode = 1

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
        if self._ivf is None:
            return EXACT_INDEX
        codec = "SQfp16" if isinstance(self._ivf, faiss.IndexIVFScalarQuantizer) else "Flat"
        return f"IVF{self._ivf.nlist},{codec}"

    @property
    def nprobe(self) -> int | None:
        """Cells a query reads (chosen at build), or None for exact search."""
        return None if self._ivf is None else int(self._ivf.nprobe)

    def ids(self) -> np.ndarray:
        if self._ivf is None:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        parts = [ids for ids, _ in self._iter_cells(with_vectors=False)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def iter_chunks(self, chunk: int = CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, vectors) in blocks, read from the index's own storage (views, no full copy)."""
        if self._ivf is None:
            flat = faiss.downcast_index(self._index.index)
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            if self.count:
                vectors = faiss.rev_swig_ptr(flat.get_xb(), self.count * self.dimension).reshape(self.count, self.dimension)
                for start in range(0, self.count, chunk):
                    yield ids[start : start + chunk], vectors[start : start + chunk]
            return
        yield from self._iter_cells(with_vectors=True)

    def _iter_cells(self, *, with_vectors: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        lists = self._ivf.invlists
        for cell in range(self._ivf.nlist):
            size = lists.list_size(cell)
            if not size:
                continue
            ids = faiss.rev_swig_ptr(lists.get_ids(cell), size).astype(np.int64)
            vectors = None
            if with_vectors:
                codes = faiss.rev_swig_ptr(lists.get_codes(cell), size * lists.code_size).reshape(size, -1)
                if isinstance(self._ivf, faiss.IndexIVFScalarQuantizer):
                    vectors = self._ivf.sq.decode(codes)
                else:
                    vectors = codes.view(np.float32).copy()
            yield ids, vectors

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
        so the k slots are filled with allowed items, not filtered away afterwards. On
        an IVF index the probed cells may hold fewer than k allowed ids; the search is
        then repeated over every cell, so a filter never hides what exact search finds.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, max(self.count, 1)))
        if allowed_ids is None:
            return self._index.search(queries, k, params=self._search_parameters())
        allowed_ids = np.ascontiguousarray(allowed_ids, dtype=np.int64)
        selector = faiss.IDSelectorBatch(allowed_ids)
        k = min(k, max(len(allowed_ids), 1))
        scores, ids = self._index.search(queries, k, params=self._search_parameters(selector))
        if self._ivf is not None and (ids < 0).any() and self.nprobe < self._ivf.nlist:
            scores, ids = self._index.search(queries, k, params=self._search_parameters(selector, self._ivf.nlist))
        return scores, ids

    def _search_parameters(self, selector: faiss.IDSelector | None = None, nprobe: int | None = None):
        """Exact and IVF indexes take different parameter classes; IVF's carries nprobe."""
        if self._ivf is None:
            return faiss.SearchParameters(sel=selector)
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe or self.nprobe)

    # -- choosing and rebuilding the index type -------------------------------
    def rebuild_if_needed(
        self, policy: IndexPolicy, text_queries: TextQueries = None
    ) -> tuple["VectorIndex", IndexBuild] | None:
        """The index type the collection's size calls for (see IndexPolicy.plan), or None to keep this one."""
        plan = policy.plan(self.count, self.dimension, None if self._ivf is None else self._ivf.nlist)
        return None if plan is None else self.rebuilt(plan, policy, text_queries)

    def rebuilt(
        self, index_type: str, policy: IndexPolicy, text_queries: TextQueries = None
    ) -> tuple["VectorIndex", IndexBuild]:
        """A new index of ``index_type`` holding the vectors held now, measured.

        This one is left as it is, so a search running on it meanwhile is unaffected;
        the caller swaps the new one in (one reference assignment).

        ``text_queries`` returns the model's vectors of typical text queries (called only
        for an approximate index, which is calibrated on them); without it, synthetic
        text-like queries stand in. Peak memory is the old index plus the new one:
        vectors are streamed over in blocks.
        """
        started = time.monotonic()
        if index_type == EXACT_INDEX:
            fresh = VectorIndex.create(self.dimension)
            for ids, vectors in self.iter_chunks():
                fresh.add(ids, vectors)
            build = IndexBuild(EXACT_INDEX, fresh.count, time.monotonic() - started)
        else:
            fresh, build = self._build_ivf(index_type, policy, started, text_queries)
        log.info("vector index rebuilt as %s in %.1f s", build.index_type, build.seconds)
        return fresh, build

    def _build_ivf(
        self, index_type: str, policy: IndexPolicy, started: float, text_queries: TextQueries
    ) -> tuple["VectorIndex", IndexBuild]:
        index = faiss.index_factory(self.dimension, index_type, faiss.METRIC_INNER_PRODUCT)
        index.by_residual = False  # fp16 is precise enough as is; residuals only slow queries down
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
        cells = index.nlist
        index.train(self._sample(cells * policy.train_per_cell, policy.seed))
        for ids, vectors in self.iter_chunks():
            index.add_with_ids(np.ascontiguousarray(vectors), ids)
        fresh = VectorIndex(index)
        text = None if text_queries is None else np.asarray(text_queries(), dtype=np.float32)
        queries = probe_queries(self._sample(policy.probe_queries, policy.seed + 1), policy.seed, text)
        truth = replace(
            queries,
            image_like=exact_neighbours(queries.image_like, self.iter_chunks(), 10)[1],
            text_like=exact_neighbours(queries.text_like, self.iter_chunks(), 10)[1],
        )

        def search(batch: np.ndarray, nprobe: int) -> np.ndarray:
            return index.search(batch, 10, params=faiss.SearchParametersIVF(nprobe=nprobe))[1]

        nprobe, image_recall, text_recall = choose_nprobe(search, queries, truth, cells, policy.target_recall)
        index.nprobe = nprobe  # saved with the index, so readers search as calibrated
        build = IndexBuild(
            index_type=index_type,
            vectors=fresh.count,
            seconds=time.monotonic() - started,
            nprobe=nprobe,
            recall_at_10=image_recall,
            text_recall_at_10=text_recall,
            text_queries=queries.text_source,
        )
        return fresh, build

    def _sample(self, size: int, seed: int) -> np.ndarray:
        """About ``size`` stored vectors, drawn uniformly, block by block."""
        rng = np.random.default_rng(seed)
        share = min(1.0, size / max(self.count, 1))
        picked = [vectors[rng.random(len(vectors)) < share] for _, vectors in self.iter_chunks()]
        sample = np.concatenate(picked) if picked else np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(sample[:size], dtype=np.float32)
