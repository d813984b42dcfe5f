"""Which FAISS index a collection of a given size gets, and how good an approximate one is.

Exact search reads every vector for every query, so its latency grows with the bytes
stored: about 20 ms per query at 256 MiB on a 2-core machine (65k vectors of 1024-d),
280 ms at a million. Above that an IVF index (k-means cells; a query reads only the
``nprobe`` nearest cells) answers in a few ms. IVF rather than HNSW because IVF removes
and re-adds ids in place, which deletions and updates need, and builds in minutes, not
hours, at a million vectors. Cells store vectors as fp16 (``SQfp16``): half the memory
and half the bytes a query reads, at no measurable cost in recall (unit vectors; fp16
keeps 3 significant digits of each coordinate, scores move by about 1e-4).

What an IVF index loses is measured when it is built: recall@10 against exact search,
for two kinds of probe queries, and ``nprobe`` is raised until both reach the target:

- image-like: a stored vector moved a little (cosine 0.9 to it), as a query image is;
- text-like: the model's own text vectors when the writer has the model (the indexer
  passes vectors of a fixed set of typical queries); else synthetic ones: an image-like
  query moved far (cosine 0.15 to it) towards a direction all these queries share.
  Not a stored vector moved far: that vector would be the query's best match and sit in
  the cell probed first, which made calibration optimistic (1M x 1024, IVF,SQfp16:
  0.963 on such probes, 0.937 on fresh queries at the same nprobe).
  Text vectors of a CLIP/SigLIP model sit in their own region (the modality gap) and
  are only weakly similar to their best images (cosine 0.1-0.2), so their true
  neighbours spread over more cells: they need more probes than image queries.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import faiss
import numpy as np

EXACT_INDEX = "IDMap2,Flat"
EXACT, SQ, PQ = "exact", "sq", "pq"  # kinds of index, by the memory each vector takes

# Probe queries: cosine between a query and the stored vector it was made from.
IMAGE_QUERY_COSINE = 0.9
TEXT_QUERY_COSINE = 0.15
TEXT_GAP_COSINE = 0.8  # how strongly text-like queries lean towards their shared direction

RAM_SHARE = 8  # default memory budget: an eighth of the machine's RAM (see default_memory_budget)
ID_MAP_BYTES = 48  # per vector: a FAISS id map (hash table: id, slot, bucket pointer)
SLOT_MAP_BYTES = 8  # per vector: image id -> row of the vector file (storage/vector_file.py)
TEXT_AXIS_BYTES = 4  # per vector of a PQ index: its error along the text queries' direction (storage/text_axis.py)


def default_memory_budget() -> int:
    """An eighth of physical RAM. The index is not the only tenant: the model, the catalog and,
    above all, the page cache that serves re-ranking reads from the vector file need the rest."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return ram // RAM_SHARE


@dataclass(frozen=True)
class IndexPolicy:
    """Which index a collection gets by its size and the memory budget, and what an approximate one must achieve.

    By kind, in order of preference: exact search (float32 in RAM) while a query may
    read every vector; ``IVF,SQfp16`` (2 bytes per dimension in RAM) while that fits the
    budget; then IVF with product quantization (``pq_bytes`` bytes a vector, OPQ-rotated
    if ``opq``) whose candidates are re-ranked exactly with the float16 vectors of the
    vector file on disk.
    """

    exact_max_bytes: int = 256 << 20  # exact search while it reads at most this per query
    memory_budget: int | None = None  # bytes the index may take in RAM; None: default_memory_budget()
    target_recall: float = 0.96  # recall@10 both probe kinds must reach (0.95 with a margin)
    probe_queries: int = 200  # per kind; recall is then known to about +-0.01
    cell_size: int = 1024  # vectors per IVF cell at build time (nlist ~ count / 1024, power of 2)
    pq_cell_size: int = 2048  # PQ codes are 16-32x smaller than fp16 rows: bigger cells cost the same to scan
    max_cell_size: int = 4096  # rebuild with more cells once the average cell has grown past this
    min_train_per_cell: int = 39  # FAISS' own minimum for k-means
    train_per_cell: int = 64  # k-means sample per cell: enough for stable cells, quick to train
    max_train_vectors: int = 160_000  # k-means cost grows with sample x cells: cap it (39 a cell at 4096 cells)
    # PQ code sizes to try, largest (most precise) first. 256 bytes (4 dimensions a byte at 1024-d)
    # first: at 1M x 1024 under 286 MB, PQ128 needed every cell and 2,048 re-ranked candidates
    # to bring text-like queries to 0.95 (p50 100 ms); 256 bytes need 88 of 512 cells (40 ms).
    pq_bytes: tuple[int, ...] = (256, 128, 64, 32, 16, 8)
    # m bytes a vector as 2m 4-bit sub-quantizers scanned with SIMD lookups (FAISS "fast scan",
    # ``PQ{2m}x4fs``) rather than m 8-bit ones: at 1M x 1024 and 256 bytes, the same nprobe,
    # re-rank depth and recall (1.000 / 0.964) at p50 11.9 ms instead of 38-40 ms.
    fast_scan: bool = True
    opq: bool = False  # rotate before PQ (OPQ): see README "what was tried"
    # Share of the cells (and of the training sample) given to the items most aligned with the
    # model's text queries (storage/coarse_cells.py); 0 trains plain k-means cells.
    text_cell_share: float = 0.02
    max_rerank: int = 2048  # candidates a PQ search may re-rank exactly (each a 2 KiB read at 1024-d)
    min_rerank: int = 16
    seed: int = 0

    @property
    def budget(self) -> int:
        return self.memory_budget if self.memory_budget is not None else default_memory_budget()

    @property
    def quantizers_per_byte(self) -> int:
        """PQ sub-quantizers a code byte holds: two of 4 bits (fast scan), else one of 8."""
        return 2 if self.fast_scan else 1

    def wants_exact(self, count: int, dimension: int) -> bool:
        return count * dimension * 4 <= self.exact_max_bytes and self.memory_bytes(EXACT, count, dimension) <= self.budget

    def cells_for(self, count: int, kind: str = SQ) -> int:
        """A power of two near count / cell size, with enough points per cell to train."""
        size = self.pq_cell_size if kind == PQ else self.cell_size
        cells = 2 ** max(0, round(math.log2(max(count / size, 1))))
        while cells > 1 and count < cells * self.min_train_per_cell:
            cells //= 2
        return cells

    def train_size(self, cells: int) -> int:
        return max(cells * self.min_train_per_cell, min(cells * self.train_per_cell, self.max_train_vectors))

    def memory_bytes(self, kind: str, count: int, dimension: int, code_bytes: int = 0) -> int:
        """What an index of ``kind`` takes in RAM (estimate: codes, ids, id maps, centroids)."""
        per_vector = {
            EXACT: 4 * dimension + 8 + ID_MAP_BYTES,
            SQ: 2 * dimension + 8 + ID_MAP_BYTES,
            PQ: code_bytes + 8 + TEXT_AXIS_BYTES,
        }
        cells = 0 if kind == EXACT else self.cells_for(count, kind)
        fixed = cells * dimension * 4 + (dimension * dimension * 4 if kind == PQ and self.opq else 0)
        return count * (per_vector[kind] + SLOT_MAP_BYTES) + fixed

    def pq_code_bytes(self, count: int, dimension: int) -> int:
        """The largest PQ code size that divides the dimension and fits the budget (the smallest if none fits)."""
        fitting = [m for m in self.pq_bytes if dimension % (m * self.quantizers_per_byte) == 0]
        if not fitting:
            raise ValueError(f"no PQ code size of {self.pq_bytes} divides {dimension} dimensions")
        for m in fitting:
            if self.memory_bytes(PQ, count, dimension, m) <= self.budget:
                return m
        return fitting[-1]

    def kind_for(self, count: int, dimension: int) -> str:
        if self.wants_exact(count, dimension):
            return EXACT
        if self.memory_bytes(SQ, count, dimension) <= self.budget:
            return SQ
        return PQ

    def index_type_for(self, count: int, dimension: int) -> str:
        kind = self.kind_for(count, dimension)
        if kind == EXACT:
            return EXACT_INDEX
        cells = self.cells_for(count, kind)
        if kind == SQ:
            return ivf_type(cells)
        quantizers = self.pq_code_bytes(count, dimension) * self.quantizers_per_byte
        return pq_type(cells, quantizers, fast_scan=self.fast_scan, rotated=self.opq)

    def plan(self, count: int, dimension: int, current_type: str) -> str | None:
        """The index type to rebuild into, or None to keep the current one.

        Hysteresis (a smaller-memory kind goes back to a bigger one only below half its
        limit, more cells only after 4x growth) keeps a collection near a boundary from
        being rebuilt at every save. Over the budget, it moves to a smaller kind at once.
        """
        kind, cells = index_kind(current_type)
        wanted = self.kind_for(count, dimension)
        order = [EXACT, SQ, PQ]
        if order.index(wanted) > order.index(kind):
            return self.index_type_for(count, dimension)
        if order.index(wanted) < order.index(kind):
            roomier = self.kind_for(2 * count, dimension)
            if order.index(roomier) < order.index(kind):
                return self.index_type_for(count, dimension)
            return None
        if kind != EXACT and count > cells * self.max_cell_size * (self.pq_cell_size // self.cell_size if kind == PQ else 1):
            return self.index_type_for(count, dimension)
        return None


def ivf_type(cells: int) -> str:
    return f"IVF{cells},SQfp16"


def pq_type(cells: int, quantizers: int, fast_scan: bool, rotated: bool = False) -> str:
    """A PQ index's type, as FAISS' factory reads it and the catalog records it: ``quantizers``
    sub-quantizers of 4 bits scanned with SIMD lookups (``PQ{n}x4fs``) or of 8 bits (``PQ{n}``),
    behind an OPQ rotation when ``rotated``."""
    codes = f"PQ{quantizers}x4fs" if fast_scan else f"PQ{quantizers}"
    return f"{f'OPQ{quantizers},' if rotated else ''}IVF{cells},{codes}"


def index_kind(index_type: str) -> tuple[str, int]:
    """(kind, cells) of an index type string: ("exact", 0), ("sq", 1024), ("pq", 4096)."""
    if index_type == EXACT_INDEX:
        return EXACT, 0
    match = re.search(r"IVF(\d+)(?:_\w+)?,(\w+)", index_type)
    if match is None:
        raise ValueError(f"unknown index type {index_type!r}")
    return (PQ if match.group(2).startswith("PQ") else SQ), int(match.group(1))


@dataclass(frozen=True)
class ProbeQueries:
    image_like: np.ndarray
    text_like: np.ndarray
    text_source: str = "synthetic"  # or "model": real text vectors of the index's model


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _move(rng: np.random.Generator, anchors: np.ndarray, cosine: float, towards: np.ndarray) -> np.ndarray:
    """Unit vectors at ``cosine`` to each anchor, the rest in ``towards`` (made orthogonal)."""
    towards = towards - (towards * anchors).sum(axis=1, keepdims=True) * anchors
    towards = _unit(towards)
    return _unit(cosine * anchors + math.sqrt(1 - cosine**2) * towards)


def probe_queries(
    sample: np.ndarray, seed: int = 0, text_vectors: np.ndarray | None = None, gap: np.ndarray | None = None
) -> ProbeQueries:
    """Image-like queries made from stored vectors; text-like ones are ``text_vectors``
    (the model's) when given, else made from stored vectors too (see the module docstring),
    leaning along ``gap`` (the direction a model's text vectors share; random if not given)."""
    rng = np.random.default_rng(seed)
    anchors = _unit(sample)
    noise = rng.standard_normal(anchors.shape).astype(np.float32)
    drawn = rng.standard_normal((1, anchors.shape[1])).astype(np.float32)  # drawn either way: same image-like queries
    gap = _unit(drawn if gap is None else np.asarray(gap, dtype=np.float32).reshape(1, -1))
    text_direction = TEXT_GAP_COSINE * gap + math.sqrt(1 - TEXT_GAP_COSINE**2) * _unit(noise[::-1].copy())
    image_like = _move(rng, anchors, IMAGE_QUERY_COSINE, noise)
    if text_vectors is not None and len(text_vectors):
        return ProbeQueries(image_like, _unit(text_vectors), "model")
    return ProbeQueries(image_like, _move(rng, image_like, TEXT_QUERY_COSINE, text_direction))


def exact_neighbours(
    queries: np.ndarray, chunks: Iterable[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (scores, ids) by inner product over (ids, vectors) chunks, in bounded memory."""
    heap = faiss.ResultHeap(len(queries), k, keep_max=True)
    for ids, vectors in chunks:
        if not len(ids):
            continue
        scores, local = faiss.knn(queries, np.ascontiguousarray(vectors), min(k, len(ids)), metric=faiss.METRIC_INNER_PRODUCT)
        found = np.where(local >= 0, ids[np.maximum(local, 0)], -1)
        if scores.shape[1] < k:  # pad to k columns
            pad = k - scores.shape[1]
            scores = np.hstack([scores, np.full((len(queries), pad), -np.inf, dtype=np.float32)])
            found = np.hstack([found, np.full((len(queries), pad), -1, dtype=np.int64)])
        heap.add_result(scores, found)
    heap.finalize()
    return heap.D, heap.I


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true top-k ids (ignoring empty slots) that the approximate search returned."""
    hits = total = 0
    for row_found, row_truth in zip(found, truth):
        wanted = set(int(i) for i in row_truth if i >= 0)
        hits += len(wanted & set(int(i) for i in row_found))
        total += len(wanted)
    return hits / total if total else 1.0


def choose_nprobe(
    search: Callable[[np.ndarray, int], np.ndarray],
    queries: np.ndarray,
    truth: np.ndarray,
    cells: int,
    target: float,
) -> tuple[int, float]:
    """Smallest nprobe at which one kind of query reaches ``target`` (at most every cell, which
    is exact): up a 1, 2, 3, 4, 6, 8, 12... ladder, then halving the gap below the first step
    that passes. Each kind is calibrated alone (see :class:`storage.records.IndexBuild`).

    ``search(queries, nprobe)`` returns the ids found. Returns (nprobe, recall).
    """
    failing = 0
    for nprobe in nprobe_ladder(cells):
        recall = recall_at_k(search(queries, nprobe), truth)
        if recall >= target:
            break
        failing = nprobe
    for _ in range(2):  # the ladder's steps are up to 50% apart: narrow the last one down
        middle = (failing + nprobe) // 2
        if middle <= failing:
            break
        middle_recall = recall_at_k(search(queries, middle), truth)
        if middle_recall >= target:
            nprobe, recall = middle, middle_recall
        else:
            failing = middle
    return nprobe, recall


def choose_rerank(
    search: Callable[[np.ndarray, int, int, int], np.ndarray],
    queries: np.ndarray,
    truth: np.ndarray,
    cells: int,
    policy: "IndexPolicy",
    fewer_reads: bool = False,
) -> tuple[int, int, int, float]:
    """(nprobe, candidates, re-rank depth, recall) for one kind of query on an index whose
    candidates are re-ranked exactly: nprobe as :func:`choose_nprobe` finds it at the deepest
    re-ranking, then the candidates halved while the kind still reaches the target (each
    re-ranked). With ``fewer_reads`` (the index ranks its candidates by a corrected score
    first: :mod:`storage.text_axis`), the rows re-ranked are then halved the same way.

    ``search(queries, nprobe, candidates, rerank)`` returns the ids found.
    """
    deepest = policy.max_rerank
    nprobe, recall = choose_nprobe(
        lambda q, n: search(q, n, deepest, deepest), queries, truth, cells, policy.target_recall
    )
    candidates, recall = _halved(lambda depth: search(queries, nprobe, depth, depth), deepest, recall, truth, policy)
    rerank = candidates
    if fewer_reads:
        rerank, recall = _halved(lambda depth: search(queries, nprobe, candidates, depth), candidates, recall, truth, policy)
    return nprobe, candidates, rerank, recall


def _halved(search: Callable[[int], np.ndarray], depth: int, recall: float, truth: np.ndarray, policy: "IndexPolicy"):
    """(depth, recall): ``depth`` halved while ``search(depth)`` still reaches the target."""
    while depth // 2 >= max(policy.min_rerank, 1):
        shallow_recall = recall_at_k(search(depth // 2), truth)
        if shallow_recall < policy.target_recall:
            break
        depth, recall = depth // 2, shallow_recall
    return depth, recall


def nprobe_ladder(cells: int) -> list[int]:
    """Powers of two and the steps halfway between them (x1.5), up to every cell."""
    ladder, power = [], 1
    while power < cells:
        ladder += [power] if power < 2 else [power, power * 3 // 2]
        power *= 2
    return [step for step in ladder if step < cells] + [cells]
