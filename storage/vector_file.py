"""The vectors of one generation on disk: the source of truth the FAISS index is built from.

Two append-only files per generation, row ``slot`` of each belonging together:

- ``vectors-g{id}.f16``: the vectors as float16 (2 bytes per dimension, 2 KiB at 1024-d);
- ``vectors-g{id}.ids``: the image id of each row (int64).

How many rows are real is the generation's ``vector_slots`` in the catalog (the
committed length). Order of writes, which makes a kill at any point harmless: rows
are written past the committed length and fsynced first; then one catalog transaction
commits the images, their embedding rows (each naming its slot) and the new length.
A kill before that commit leaves only rows past the committed length, which nothing
references and the next append overwrites; after it, the rows are on disk already.

Readers memory-map the files up to the committed length they know, so a re-ranking
query reads a few candidate rows from the page cache or disk, never the whole file
into RAM. An image id may own several rows over time (SQLite reuses the id of a
deleted last row); the latest committed one is its vector.

Scattered rows (a query's re-ranking candidates, a training sample) are read through a
second mapping advised ``MADV_RANDOM``, after asking the kernel for all of them at once
(``MADV_WILLNEED``). A plain mapping reads around every page fault (up to megabytes, for
2 KiB wanted) and one fault at a time: 2,048 cold rows of a 20 GB file took 8-14 s on
this project's test VM, 120 ms with ``MADV_RANDOM`` alone, 45 ms with the prefetch too.
Streaming in file order (builds, checks) keeps the plain mapping and its read-ahead.
"""

from __future__ import annotations

import functools
import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

STORED_DTYPE = np.float16
_ID_DTYPE = np.int64
SUFFIXES = (".f16", ".ids")
PREFETCH_ROWS = 4096  # scattered rows asked of the kernel at once (8 MiB at 1024-d)
_ADVICE = hasattr(mmap.mmap, "madvise") and hasattr(mmap, "MADV_RANDOM") and hasattr(mmap, "MADV_WILLNEED")


def stored_form(vectors: np.ndarray) -> np.ndarray:
    """float32 vectors exactly as :meth:`VectorFile.rows` will read them back: rounded to
    fp16, then scaled to unit length (what an index built at add time must hold)."""
    return _unit_rows(_float32(np.ascontiguousarray(vectors, dtype=STORED_DTYPE)))


def _float32(rows: np.ndarray) -> np.ndarray:
    """fp16 rows as float32, bit for bit as ``astype`` gives them, three times faster:
    FAISS' fp16 decoder uses the CPU's conversion instructions (1 ms per 1024 x 1024
    against numpy's 3.3 ms), which re-ranking pays on every query."""
    rows = np.ascontiguousarray(rows)
    if rows.size == 0:
        return rows.astype(np.float32)
    return _fp16_decoder(rows.shape[1]).decode(rows.view(np.uint8))


@functools.lru_cache(maxsize=8)
def _fp16_decoder(dimension: int) -> faiss.ScalarQuantizer:
    return faiss.ScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16)  # decoding reads it only


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """Scale each row of a float32 array to length 1 in place (zero rows stay zero)."""
    norms = np.sqrt(np.einsum("nd,nd->n", rows, rows))[:, None]
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


def vector_file_paths(data_dir: Path, generation_id: int) -> tuple[Path, Path]:
    stem = Path(data_dir) / f"vectors-g{generation_id}"
    return stem.with_suffix(".f16"), stem.with_suffix(".ids")


def _fsync_write(path: Path, offset: int, payload: bytes) -> None:
    """Write ``payload`` at ``offset``, cutting off whatever lay past the committed rows, and fsync."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, offset)
        os.pwrite(fd, payload, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


class VectorFile:
    """fp16 rows and their image ids, memory-mapped up to the committed length."""

    def __init__(self, data_dir: Path, generation_id: int, dimension: int, committed: int):
        self.vectors_path, self.ids_path = vector_file_paths(data_dir, generation_id)
        self.dimension = dimension
        self.committed = int(committed)
        self._mapped: tuple[int, np.ndarray, np.ndarray] | None = None  # (rows, vectors, ids)
        self._scattered: tuple[int, mmap.mmap | None, np.ndarray] | None = None  # (rows, map, vectors)
        self._slot_of = np.full(0, -1, dtype=np.int64)  # image id -> its latest slot (-1: none)
        self._indexed = 0  # slots [0, _indexed) are in _slot_of

    # -- writing (one writer: the holder of the data directory's lock) ---------
    def write(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[int, int]:
        """Write rows past the committed length, durably. Returns their slots [start, end).

        They count only once the caller commits ``end`` as the new length (:meth:`commit`).
        """
        ids = np.ascontiguousarray(ids, dtype=_ID_DTYPE)
        rows = np.ascontiguousarray(vectors, dtype=STORED_DTYPE)
        if rows.ndim != 2 or rows.shape[1] != self.dimension or len(rows) != len(ids):
            raise ValueError(f"expected {len(ids)} rows of {self.dimension} dimensions, got {rows.shape}")
        start = self.committed
        _fsync_write(self.vectors_path, start * self.dimension * 2, rows.tobytes())
        _fsync_write(self.ids_path, start * 8, ids.tobytes())
        return start, start + len(ids)

    def commit(self, end: int) -> None:
        """The catalog committed rows up to ``end``: they are readable from now on."""
        self.committed = max(self.committed, int(end))

    # -- reading --------------------------------------------------------------
    def _maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Memory maps of the committed rows (of those the files really hold, if they lost some:
        ``rsclip check`` reports that)."""
        if self._mapped is None or self._mapped[0] != self.committed:
            rows = min(self.committed, self.readable_rows())
            if rows == 0:
                vectors = np.zeros((0, self.dimension), dtype=STORED_DTYPE)
                ids = np.zeros(0, dtype=_ID_DTYPE)
            else:
                vectors = np.memmap(self.vectors_path, STORED_DTYPE, "r", shape=(rows, self.dimension))
                ids = np.memmap(self.ids_path, _ID_DTYPE, "r", shape=(rows,))
            self._mapped = (self.committed, vectors, ids)
        return self._mapped[1], self._mapped[2]

    def readable_rows(self) -> int:
        """Whole rows both files hold (at least the committed length, unless a file was damaged)."""
        sizes = [
            (path.stat().st_size if path.is_file() else 0) // row_bytes
            for path, row_bytes in ((self.vectors_path, self.dimension * 2), (self.ids_path, 8))
        ]
        return min(sizes)

    def slot_ids(self) -> np.ndarray:
        """The image id of every committed row (a memory map)."""
        return self._maps()[1]

    def _scattered_map(self) -> tuple[mmap.mmap | None, np.ndarray]:
        """The committed rows through a mapping for scattered reads (see the module docstring);
        the plain one where the platform has no ``madvise``."""
        if self._scattered is None or self._scattered[0] != self.committed:
            rows = min(self.committed, self.readable_rows())
            if rows == 0 or not _ADVICE:
                self._scattered = (self.committed, None, self._maps()[0])
            else:
                with open(self.vectors_path, "rb") as handle:
                    mapped = mmap.mmap(handle.fileno(), rows * self.dimension * 2, prot=mmap.PROT_READ)
                mapped.madvise(mmap.MADV_RANDOM)
                vectors = np.frombuffer(mapped, dtype=STORED_DTYPE).reshape(rows, self.dimension)
                self._scattered = (self.committed, mapped, vectors)
        return self._scattered[1], self._scattered[2]

    def rows(self, slots: np.ndarray, scattered: bool = False) -> np.ndarray:
        """float32 unit vectors of the given slots (read in slot order: sequential where it can be).

        ``scattered``: the slots lie far apart (re-ranking candidates, a sample): read them as
        the module docstring says, not with the read-ahead that serves a scan.

        Rounding to fp16 keeps a vector's direction (cosine to the fp32 original ~1 - 1e-7)
        but moves its length by up to ~1e-4; each row is scaled back to length 1 so that every
        score computed from it is a cosine (a self-match scores 1, never 1.0001). A zero row
        (damage ``rsclip check`` reports) stays zero.
        """
        slots = np.asarray(slots, dtype=np.int64)
        if scattered:
            mapped, vectors = self._scattered_map()
            parts = []
            for start in range(0, len(slots), PREFETCH_ROWS):  # asked for first, so read in any order
                group = slots[start : start + PREFETCH_ROWS]
                if mapped is not None:
                    self._prefetch(mapped, np.sort(group))
                parts.append(vectors[group])
            gathered = np.concatenate(parts) if parts else np.zeros((0, self.dimension), dtype=STORED_DTYPE)
            return _unit_rows(_float32(gathered))
        order = np.argsort(slots, kind="stable")  # disk order: the plain mapping reads ahead
        out = np.empty((len(slots), self.dimension), dtype=np.float32)
        out[order] = _float32(self._maps()[0][slots[order]])
        return _unit_rows(out)

    def _prefetch(self, mapped: mmap.mmap, slots: np.ndarray) -> None:
        """Ask the kernel for the pages of these rows at once, so the disk serves them in parallel."""
        row_bytes = self.dimension * 2
        page = mmap.PAGESIZE
        for slot in slots[(slots >= 0) & (slots < len(mapped) // row_bytes)].tolist():
            offset = slot * row_bytes
            first = offset - offset % page
            mapped.madvise(mmap.MADV_WILLNEED, first, offset + row_bytes - first)

    def slots_of(self, ids: np.ndarray) -> np.ndarray:
        """The latest committed slot of each image id (-1 where it has none)."""
        self._index_slots()
        ids = np.asarray(ids, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(self._slot_of))
        slots = np.full(len(ids), -1, dtype=np.int64)
        slots[inside] = self._slot_of[ids[inside]]
        return slots

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """float32 vectors of image ids that have a committed row (KeyError otherwise)."""
        slots = self.slots_of(ids)
        if (slots < 0).any():
            raise KeyError(f"no stored vector for id(s) {np.asarray(ids)[slots < 0][:5].tolist()}")
        return self.rows(slots, scattered=True)

    def _index_slots(self) -> None:
        """Extend the id -> slot table by the rows committed since it was last built."""
        if self._indexed >= self.committed:
            return
        new_ids = np.asarray(self.slot_ids()[self._indexed : self.committed])
        end = self._indexed + len(new_ids)
        if len(new_ids):
            largest = int(new_ids.max())
            if largest >= len(self._slot_of):
                grown = np.full(max(largest + 1, 2 * len(self._slot_of)), -1, dtype=np.int64)
                grown[: len(self._slot_of)] = self._slot_of
                self._slot_of = grown
            # the last row of an id wins: take each id's last occurrence explicitly
            reversed_ids = new_ids[::-1]
            unique, first_in_reversed = np.unique(reversed_ids, return_index=True)
            self._slot_of[unique] = end - 1 - first_in_reversed
        self._indexed = end

    def chunks(self, ids: np.ndarray, chunk: int = 16384) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, float32 vectors) of the given image ids, block by block, in bounded memory."""
        ids = np.asarray(ids, dtype=np.int64)
        slots = self.slots_of(ids)
        order = np.argsort(slots, kind="stable")  # disk order
        ids, slots = ids[order], slots[order]
        known = slots >= 0
        ids, slots = ids[known], slots[known]
        for start in range(0, len(ids), chunk):
            yield ids[start : start + chunk], self.rows(slots[start : start + chunk])

    def sample(self, ids: np.ndarray, size: int, seed: int) -> np.ndarray:
        """About ``size`` vectors of the given ids, drawn uniformly (random reads, not a scan)."""
        ids = np.asarray(ids, dtype=np.int64)
        rng = np.random.default_rng(seed)
        picked = ids if size >= len(ids) else rng.choice(ids, size, replace=False)
        slots = self.slots_of(picked)
        return self.rows(slots[slots >= 0], scattered=len(picked) < len(ids))

    def disk_bytes(self) -> int:
        return sum(path.stat().st_size for path in (self.vectors_path, self.ids_path) if path.is_file())
