"""The FAISS side of the store: vectors keyed by catalog id, searched by inner product.

Vectors are unit length, so inner product is cosine similarity. Three index types, all
keyed by the catalog's ids so removal and re-adding work the same way:

- exact: ``IndexIDMap2(IndexFlatIP)``, while a query may read every vector;
- ``IVF{cells},SQfp16``: fp16 vectors in k-means cells (not stored as residuals) with a
  hash-table direct map (for ``reconstruct`` and ``remove_ids``), while 2 bytes a
  dimension fit the memory budget;
- ``IVF{cells},PQ{2m}x4fs`` (or, built before fast scan, ``IVF{cells},PQ{m}``): m-byte
  product-quantized codes (2m 4-bit sub-quantizers scanned with SIMD lookups, or m 8-bit
  ones), whose best ``rerank`` candidates are scored again exactly with the fp16 vectors
  of the vector file on disk (:mod:`storage.vector_file`), so the scores returned are
  true cosines. With the model's text vectors known, a PQ index also keeps each vector's
  error along their shared direction (:mod:`storage.text_axis`): the candidates are
  ranked by the corrected score, and only the best of them are read and re-ranked.

Every index is built from the vector file, streaming (never every vector in RAM):
trained on a sample, filled block by block. Which type, and when to rebuild, is
:mod:`storage.index_policy`'s decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from storage.atomic import atomic_write_bytes
from storage.coarse_cells import layer_cells, layered_centroids
from storage.index_policy import (
    EXACT,
    EXACT_INDEX,
    PQ,
    IndexPolicy,
    choose_nprobe,
    choose_rerank,
    exact_neighbours,
    index_kind,
    pq_type,
    probe_queries,
)
from storage.killpoints import kill_point
from storage.records import QUERY_KINDS, IndexBuild, SearchDepth, checked_kind
from storage.text_axis import TextAxis, text_direction
from storage.vector_file import VectorFile

log = logging.getLogger(__name__)

TextQueries = Callable[[], np.ndarray] | None  # the model's vectors of typical text queries

# Candidates a PQ index re-ranks when no build record of it says how many (its record lost
# in a crash between saving a rebuilt index and recording it): PQ scores alone are not cosines.
FALLBACK_RERANK = 1024
CHUNK = 16384  # vectors per block when streaming the whole index (about 64 MiB at 1024-d)
FAST_SCAN_ONE_QUERY = 14  # IndexIVFFastScan.implem that splits one query's cells over the cores
_PQ_INDEXES = (faiss.IndexIVFPQ, faiss.IndexIVFPQFastScan)  # product-quantized: 8-bit codes, or 4-bit scanned fast


class VectorIndex:
    """A FAISS index whose ids are the ids of the ``images`` table.

    ``source`` is the generation's vector file: a PQ index re-ranks its candidates with
    it (``rerank`` of them); the store attaches it on open. ``depths``: how deep each kind
    of query searches (:meth:`tune`); a query of no stated kind searches as deep as the
    deeper kind, which is also the nprobe saved in the FAISS file. ``text_axis``: a PQ
    index's errors along the text queries' direction (None: its candidates are all re-ranked).
    """

    def __init__(self, index: faiss.Index, rerank: int | None = None, source: VectorFile | None = None):
        self._index = index
        ivf = faiss.try_extract_index_ivf(index)
        self._ivf = None if ivf is None else faiss.downcast_index(ivf)
        self.rerank = rerank
        self.candidates: int | None = None  # PQ candidates a query takes, when more than it re-ranks
        self.source = source
        self.depths: dict[str, SearchDepth] = {}
        self.text_axis: TextAxis | None = None

    @classmethod
    def create(cls, dimension: int) -> "VectorIndex":
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> "VectorIndex":
        loaded = cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0))
        if loaded.kind == PQ:
            loaded.text_axis = TextAxis.read_trailer(path, loaded.dimension)
        return loaded

    def save(self, path: Path) -> None:
        """FAISS' bytes, then the text axis if there is one (one atomic write: they never disagree)."""
        trailer = self.text_axis.trailer() if self.text_axis is not None else []
        atomic_write_bytes(path, [faiss.serialize_index(self._index), *trailer])

    @property
    def dimension(self) -> int:
        return self._index.d

    @property
    def count(self) -> int:
        return self._index.ntotal

    @property
    def kind(self) -> str:
        return index_kind(self.index_type)[0]

    @property
    def code_bytes(self) -> int:
        """Bytes of a PQ code (0 for other kinds)."""
        if isinstance(self._ivf, _PQ_INDEXES):
            return int(self._ivf.pq.M * self._ivf.pq.nbits) // 8
        return 0

    @property
    def index_type(self) -> str:
        if self._ivf is None:
            return EXACT_INDEX
        if isinstance(self._ivf, _PQ_INDEXES):
            return pq_type(
                self._ivf.nlist, int(self._ivf.pq.M), fast_scan=isinstance(self._ivf, faiss.IndexIVFPQFastScan),
                rotated=isinstance(self._index, faiss.IndexPreTransform),
            )
        codec = "SQfp16" if isinstance(self._ivf, faiss.IndexIVFScalarQuantizer) else "Flat"
        return f"IVF{self._ivf.nlist},{codec}"

    @property
    def nprobe(self) -> int | None:
        """Cells a query reads (chosen at build), or None for exact search."""
        return None if self._ivf is None else int(self._ivf.nprobe)

    def ids(self) -> np.ndarray:
        if self._ivf is None:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        lists = self._ivf.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).astype(np.int64)
            for cell in range(self._ivf.nlist)
            if lists.list_size(cell)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimension}")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self._index.add_with_ids(vectors, ids)
        if self.text_axis is not None:
            self._record_errors(ids, vectors)

    def _record_errors(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Keep these vectors' errors along the text axis (what their codes miss of them)."""
        self.text_axis.record(ids, vectors, self.approximations(vectors))

    def approximations(self, vectors: np.ndarray) -> np.ndarray:
        """What a PQ index's codes for ``vectors`` stand for: the vectors its scores are inner
        products with (cell centroid plus decoded residual, or the decoded code; rotated back
        for an OPQ index). FAISS' own ``sa_decode`` crashes on fast-scan indexes."""
        ivf = self._ivf
        if not isinstance(ivf, _PQ_INDEXES):
            raise RuntimeError(f"{self.index_type} keeps no product-quantized codes")
        transforms = _transforms(self._index)
        points = np.ascontiguousarray(vectors, dtype=np.float32)
        for transform in transforms:
            points = transform.apply(points)
        if ivf.by_residual:
            cells = ivf.quantizer.assign(points, 1).ravel()
            base = ivf.quantizer.reconstruct_batch(cells)
            approximate = base + ivf.pq.decode(ivf.pq.compute_codes(np.ascontiguousarray(points - base)))
        else:
            approximate = ivf.pq.decode(ivf.pq.compute_codes(np.ascontiguousarray(points)))
        for transform in reversed(transforms):
            approximate = transform.reverse_transform(approximate)
        return approximate

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def reconstruct(self, item_id: int) -> np.ndarray:
        """The vector as the index holds it (RuntimeError for a PQ index: it keeps no vectors)."""
        if self.kind == PQ:
            raise RuntimeError("a PQ index keeps codes, not vectors: read them from the vector file")
        return self._index.reconstruct(int(item_id))

    def tune(self, build: IndexBuild | None) -> None:
        """Search as ``build`` (the catalog's record of how this index was built) calibrated each
        kind of query. A record of another index type (a crash between saving a rebuilt index
        and recording it) is not applied: the file's own nprobe then serves every query."""
        fits = build is not None and not build.exact and build.index_type == self.index_type
        self.depths = {kind: build.depth(kind) for kind in QUERY_KINDS} if fits else {}
        widest = build.depth() if fits else None
        self.rerank = (widest and widest.rerank) or (FALLBACK_RERANK if self.kind == PQ else None)
        self.candidates = widest.candidates if widest is not None else None

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, kind: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (queries, k); missing slots have id -1.

        ``kind`` (``"image"`` or ``"text"``) searches as deep as that kind of query was
        calibrated to; None, as deep as the deeper one.

        ``allowed_ids`` restricts the search to those ids inside FAISS (an id selector),
        so the k slots are filled with allowed items, not filtered away afterwards. On
        an IVF index the probed cells may hold fewer than k allowed ids; the search is
        then repeated over every cell, so a filter never hides what exact search finds.
        A PQ index returns its best ``rerank`` candidates scored again exactly.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, max(self.count, 1)))
        selector = None
        if allowed_ids is not None:
            allowed_ids = np.ascontiguousarray(allowed_ids, dtype=np.int64)
            selector = faiss.IDSelectorBatch(allowed_ids)
            k = min(k, max(len(allowed_ids), 1))
        depth = self.depths.get(checked_kind(kind)) if kind is not None else None
        nprobe = depth.nprobe if depth is not None else self.nprobe
        rerank, candidates = (depth.rerank, depth.candidates) if depth is not None else (None, None)
        scores, ids = self._candidates(queries, k, selector, nprobe, rerank, candidates)
        if selector is not None and self._ivf is not None and (ids < 0).any() and nprobe < self._ivf.nlist:
            scores, ids = self._candidates(queries, k, selector, self._ivf.nlist, rerank, candidates)
        return scores, ids

    def _candidates(
        self, queries, k, selector=None, nprobe=None, rerank=None, candidates=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A PQ index takes ``candidates`` by PQ score and re-ranks ``rerank`` of them exactly:
        those best by corrected score, with a text axis; without one (its errors unknown), all."""
        if not rerank:  # no depth given: the widest the index was tuned to
            rerank, candidates = self.rerank, self.candidates
        self._split_cells(len(queries) == 1)
        if self.kind != PQ or not rerank:
            return self._index.search(queries, k, params=self._search_parameters(selector, nprobe))
        taken = max(k, rerank, candidates or 0)
        pq_scores, found = self._index.search(queries, taken, params=self._search_parameters(selector, nprobe))
        if self.text_axis is not None:
            found = self.text_axis.best(queries, pq_scores, found, max(k, rerank))
        return self.rescore(queries, found, k)

    def _split_cells(self, one_query: bool) -> None:
        """How the cores share a search, set before each (FAISS does not save it in the file). One query: its cells are split over them (1.45x faster
        at a million vectors on 2 cores than one core scanning them all). A batch (calibration):
        the queries are split, which on a busy machine is 20x faster than a thread barrier per
        query. A fast-scan PQ index has its own split of one query's cells (implementation 14,
        each thread keeping its own best candidates), without which its scan kept one core busy:
        at 10M on 2 cores it takes a text-like query's scan from 43 to 23 ms, an image-like one's
        from 13.7 to 7.8 ms, finding the same candidates; for a batch it is no faster than
        the default (0), which splits the queries."""
        if self._ivf is None:
            return
        self._ivf.parallel_mode = 1 if one_query else 0
        if isinstance(self._ivf, faiss.IndexIVFFastScan):
            self._ivf.implem = FAST_SCAN_ONE_QUERY if one_query else 0

    def rescore(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best k of each query's candidate ids by exact inner product with their stored vectors.

        Queries go in groups, so each group's candidate rows are read in one sorted pass
        and scored in one product (about 32 MiB a group at 1024-d and 512 candidates).
        """
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        group = max(1, (1 << 13) // max(candidates.shape[1], 1))
        for start in range(0, len(queries), group):
            found = candidates[start : start + group]
            valid = found >= 0
            exact = np.full(found.shape, -np.inf, dtype=np.float32)
            rows = self.source.vectors_of(found[valid])
            ends = np.cumsum(valid.sum(axis=1))[:-1]  # each query's rows, in order: one product apiece
            for number, own_rows in enumerate(np.split(rows, ends)):
                exact[number, valid[number]] = own_rows @ queries[start + number]
            best = np.argsort(-exact, axis=1, kind="stable")[:, :k]
            best_scores = np.take_along_axis(exact, best, axis=1)
            best_ids = np.where(np.isfinite(best_scores), np.take_along_axis(found, best, axis=1), -1)
            scores[start : start + group, : best.shape[1]] = best_scores
            ids[start : start + group, : best.shape[1]] = best_ids
        return scores, ids

    def _search_parameters(self, selector: faiss.IDSelector | None = None, nprobe: int | None = None):
        """Exact and IVF indexes take different parameter classes; IVF's carries nprobe
        (wrapped once more for an OPQ index, whose rotation comes first)."""
        if self._ivf is None:
            return faiss.SearchParameters(sel=selector)
        params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe or self.nprobe)
        if isinstance(self._index, faiss.IndexPreTransform):
            return faiss.SearchParametersPreTransform(index_params=params, sel=selector)
        return params

    # -- choosing and (re)building the index type ------------------------------
    def rebuild_if_needed(
        self, policy: IndexPolicy, text_queries: TextQueries = None, progress: bool = False
    ) -> tuple["VectorIndex", IndexBuild] | None:
        """The index type the collection's size calls for (see IndexPolicy.plan), or None to keep this one."""
        plan = policy.plan(self.count, self.dimension, self.index_type)
        if plan is None:
            return None
        return VectorIndex.build(plan, self.ids(), self.source, policy, text_queries, progress)

    @classmethod
    def build(
        cls,
        index_type: str,
        ids: np.ndarray,
        source: VectorFile,
        policy: IndexPolicy,
        text_queries: TextQueries = None,
        progress: bool = False,
    ) -> tuple["VectorIndex", IndexBuild]:
        """A new index of ``index_type`` holding the vectors of ``ids``, read from ``source``, measured.

        An index in service meanwhile is left as it is, so a search running on it is
        unaffected; the caller swaps the new one in (one reference assignment).

        ``text_queries`` returns the model's vectors of typical text queries (called only
        for an approximate index, which is calibrated on them, and a PQ one also keeps its
        errors along their direction); without it, synthetic text-like queries stand in.
        Memory: the new index, a training sample and one block.
        """
        started = time.monotonic()
        ids = np.asarray(ids, dtype=np.int64)
        kind, cells = index_kind(index_type)
        text, text_cells = None, 0
        if kind == EXACT:
            fresh = VectorIndex.create(source.dimension)
        else:
            text = _text_vectors(text_queries)
            direction = text_direction(text, source.dimension)
            sample = source.sample(ids, policy.train_size(cells), policy.seed)
            centroids = None
            if not index_type.startswith("OPQ"):  # a rotated index's cells live in the rotated space
                centroids = layered_centroids(sample, direction, cells, policy.text_cell_share, policy.min_train_per_cell, policy.seed)
                text_cells = 0 if centroids is None else layer_cells(cells, policy.text_cell_share)
            fresh = VectorIndex(cls._trained(index_type, sample, centroids))
            del sample
            if kind == PQ and direction is not None:
                fresh.text_axis = TextAxis(direction)
        fresh.source = source
        with tqdm(total=len(ids), desc=f"building {index_type}", unit="vec", disable=not progress,
                  dynamic_ncols=True, leave=False) as bar:
            for chunk_ids, vectors in source.chunks(ids, CHUNK):
                fresh.add(chunk_ids, vectors)
                bar.update(len(chunk_ids))
                kill_point("vectors.build")
        if kind == EXACT:
            build = IndexBuild(EXACT_INDEX, fresh.count, time.monotonic() - started)
        else:
            build = replace(fresh._calibrate(ids, policy, text, started), text_cells=text_cells)
        log.info("vector index built as %s in %.1f s", build.index_type, build.seconds)
        return fresh, build

    @staticmethod
    def _trained(index_type: str, sample: np.ndarray, centroids: np.ndarray | None = None) -> faiss.Index:
        """An empty index of ``index_type`` trained on ``sample``; with ``centroids``, those are
        its cells (FAISS then trains only the codes: a quantizer that already holds every cell
        is not trained again)."""
        index = faiss.index_factory(sample.shape[1], index_type, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        if centroids is not None:
            ivf.quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            ivf.by_residual = False  # fp16 is precise enough as is; residuals only slow queries down
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
        elif isinstance(ivf, faiss.IndexIVFPQ):
            # No polysemous codes (the factory's default): their training takes minutes and only
            # serves Hamming filtering, which the exact re-ranking makes pointless.
            ivf.do_polysemous_training = False
        # A PQ index keeps no direct map (48 bytes a vector): removal scans the cells' ids instead.
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return index

    def _calibrate(self, ids: np.ndarray, policy: IndexPolicy, text: np.ndarray | None, started: float) -> IndexBuild:
        """Raise nprobe (and, for PQ, the re-rank depth) until recall@10 vs exact reaches the
        target, for image-like and text-like queries apart (each kind gets its own depth)."""
        queries = probe_queries(self.source.sample(ids, policy.probe_queries, policy.seed + 1), policy.seed, text)
        both = np.vstack([queries.image_like, queries.text_like])
        truth_ids = exact_neighbours(both, self.source.chunks(ids, CHUNK), 10)[1]
        images = len(queries.image_like)
        image, image_recall = self._depth_for(queries.image_like, truth_ids[:images], policy)
        text_depth, text_recall = self._depth_for(queries.text_like, truth_ids[images:], policy)
        build = IndexBuild(
            index_type=self.index_type,
            vectors=self.count,
            seconds=time.monotonic() - started,
            nprobe=image.nprobe,
            recall_at_10=image_recall,
            text_recall_at_10=text_recall,
            text_queries=queries.text_source,
            rerank=image.rerank,
            memory_budget=policy.budget,
            text_nprobe=text_depth.nprobe,
            text_rerank=text_depth.rerank,
            candidates=image.candidates,
            text_candidates=text_depth.candidates,
        )
        # The deeper kind's nprobe is saved with the index: a reader that does not know the
        # query's kind (or the catalog's record) searches deep enough for either.
        self._ivf.nprobe = build.depth().nprobe
        self.tune(build)
        return build

    def _depth_for(self, queries: np.ndarray, truth: np.ndarray, policy: IndexPolicy) -> tuple[SearchDepth, float]:
        """The shallowest depth at which one kind of query reaches the target, and its recall."""
        if self.kind == PQ:
            nprobe, candidates, rerank, recall = choose_rerank(
                lambda q, n, taken, read: self._candidates(q, 10, nprobe=n, rerank=read, candidates=taken)[1],
                queries, truth, self._ivf.nlist, policy, fewer_reads=self.text_axis is not None,
            )
            return SearchDepth(nprobe, rerank, candidates if candidates > rerank else None), recall
        nprobe, recall = choose_nprobe(
            lambda q, n: self._candidates(q, 10, nprobe=n)[1], queries, truth, self._ivf.nlist, policy.target_recall
        )
        return SearchDepth(nprobe), recall

    def calibrate(self, ids: np.ndarray, policy: IndexPolicy, text_queries: TextQueries = None) -> IndexBuild:
        """Measure and set this index's depths again (as a build does), e.g. after the policy's
        target changed. A PQ index without a text axis gets one first, when ``text_queries``
        gives enough of the model's text vectors (one streaming pass over the vectors)."""
        if self._ivf is None:
            raise ValueError("exact search has no depth to calibrate")
        started = time.monotonic()
        ids = np.asarray(ids, dtype=np.int64)
        text = _text_vectors(text_queries)
        if self.kind == PQ and self.text_axis is None:
            self.text_axis = TextAxis.of(text, self.dimension)
            if self.text_axis is not None:
                for chunk_ids, vectors in self.source.chunks(ids, CHUNK):
                    self._record_errors(chunk_ids, vectors)
        return self._calibrate(ids, policy, text, started)


def _transforms(index: faiss.Index) -> list[faiss.VectorTransform]:
    """The transforms an index applies before its IVF (an OPQ rotation), in order."""
    if not isinstance(index, faiss.IndexPreTransform):
        return []
    return [faiss.downcast_VectorTransform(index.chain.at(i)) for i in range(index.chain.size())]


def _text_vectors(text_queries: TextQueries) -> np.ndarray | None:
    """The model's vectors of typical text queries, asked of the callable once (it may run the model)."""
    return None if text_queries is None else np.asarray(text_queries(), dtype=np.float32)
