"""Reading a store: records by id, stored vectors, filtered nearest-neighbour search,
and the numbers ``rsclip stats`` shows. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import generations
from storage.catalog import shown_url
from storage.geo import matching_ids_query
from storage.models import EmbeddingRow, GenerationRow, ImageRow
from storage.records import Hit, ImageRecord, SearchFilters, StoreStats
from storage.row_mapping import image_record, index_build_of


class ReadingMethods:
    """The :class:`~storage.store.Store` methods that read.

    Mixed into Store (they use its engine, active generation and vector index); kept here
    so that store.py keeps opening, writing and consistency.
    """

    def count(self) -> int:
        with Session(self._engine) as session:
            return session.execute(select(func.count()).select_from(ImageRow)).scalar_one()

    def get(self, image_id: int) -> ImageRecord | None:
        with Session(self._engine) as session:
            row = session.get(ImageRow, int(image_id))
            return None if row is None else image_record(row)

    def get_many(self, image_ids: Sequence[int]) -> dict[int, ImageRecord]:
        with Session(self._engine) as session:
            rows = session.execute(select(ImageRow).where(ImageRow.id.in_([int(i) for i in image_ids])))
            return {row.id: image_record(row) for row in rows.scalars()}

    def vector(self, image_id: int) -> np.ndarray | None:
        """The stored vector of an image (from the vector file), or None if it has none.

        A reader that another process's reindex has just moved past (its generation retired,
        the catalog rows gone, until it follows the switch) still answers from the vector
        file it has open, as it still searches with that generation's index, as long as the
        image itself is still in the catalog.
        """
        if self._generation is None:
            return None
        file = self.vector_file(self._generation)
        with Session(self._engine) as session:
            slot = session.execute(
                select(EmbeddingRow.slot).where(
                    EmbeddingRow.image_id == int(image_id), EmbeddingRow.generation_id == self._generation.id
                )
            ).scalar_one_or_none()
            retired = slot is None and session.get(GenerationRow, self._generation.id) is None
            if retired and session.get(ImageRow, int(image_id)) is not None:
                slot = int(file.slots_of(np.array([int(image_id)]))[0])  # -1: no row
        if slot is None or not 0 <= slot < file.committed:
            return None
        return file.rows(np.array([slot]))[0]

    def iter_vectors(self, chunk_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored vector of the active generation as (ids, vectors) chunks, in id order.

        Read from the catalog, not FAISS, so it works for any index type and streams
        in bounded memory however large the index.
        """
        if self._generation is not None:
            yield from generations.stream_vectors(self, self._generation, chunk_size)

    def matching_ids(self, filters: SearchFilters) -> np.ndarray:
        """Ids of the items that pass ``filters`` (SQL on indexed columns)."""
        with Session(self._engine) as session:
            return np.fromiter(session.execute(matching_ids_query(filters)).scalars(), dtype=np.int64)

    def search(
        self, queries: np.ndarray, k: int = 10, offset: int = 0, filters: SearchFilters | None = None,
        kind: str | None = None,
    ) -> list[list[Hit]]:
        """Nearest images for each query vector, best first, metadata attached.

        With ``filters``, FAISS itself skips the items that fail them (an id selector),
        so k results come back whenever k items pass. ``kind``: ``"image"`` or ``"text"``
        queries search an approximate index as deep as their kind was calibrated to reach
        the target recall; None, as deep as the deeper kind.
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        vectors = self._vectors  # one index for the whole query, even if a writer swaps it meanwhile
        if vectors is None or vectors.count == 0:
            return [[] for _ in queries]
        if queries.shape[1] != vectors.dimension:
            raise ValueError(f"query has {queries.shape[1]} dimensions, the index {vectors.dimension}")
        allowed = None
        if filters is not None and filters.active:
            allowed = self.matching_ids(filters)
            if len(allowed) == 0:
                return [[] for _ in queries]
        scores, ids = vectors.search(queries, k + offset, allowed_ids=allowed, kind=kind)
        records = self.get_many(sorted({int(i) for i in ids.ravel() if i >= 0}))
        return [
            [
                Hit(score=float(score), image=records[int(image_id)])
                for score, image_id in list(zip(row_scores, row_ids))[offset:]
                if image_id >= 0 and int(image_id) in records
            ]
            for row_scores, row_ids in zip(scores, ids)
        ]

    def stats(self) -> StoreStats:
        with Session(self._engine) as session:
            sources = dict(
                session.execute(select(ImageRow.source, func.count()).group_by(ImageRow.source)).all()
            )
        files = {p.name: p.stat().st_size for p in sorted(self.data_dir.iterdir()) if p.is_file()}
        vectors = self._vectors
        return StoreStats(
            items=sum(sources.values()),
            vectors=0 if self._vectors is None else self._vectors.count,
            sources=sources,
            model=self.model,
            index_type=None if self._vectors is None else self._vectors.index_type,
            index_version=0 if self._generation is None else self._generation.index_version,
            disk_bytes=sum(files.values()),
            database_url=shown_url(self.database_url),
            files=files,
            index_build=None if self._generation is None else index_build_of(self._generation),
            memory_budget=self.index_policy.budget,
            index_memory=0 if vectors is None else self.index_policy.memory_bytes(
                vectors.kind, vectors.count, vectors.dimension, vectors.code_bytes
            ),
        )
