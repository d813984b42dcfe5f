"""Index generations: build a new one beside the one in service, then switch in one transaction.

A generation is every image's vector under one model: ``embeddings`` rows, its vector
file (``vectors-g{id}.f16`` and ``.ids``, the source of truth) and its FAISS file
``vectors-g{id}.faiss``. Its ``status`` says where it is in its life:

    building  -- a reindex is filling it (not served; resumable after a crash)
    ready     -- complete: the active one is served; an inactive one was kept (--keep)
    retiring  -- replaced by a switch; its rows and file are deleted right after

Crash safety: a building generation only gains committed batches, so a crash loses
at most the batch in flight and the next ``begin`` resumes it. Its FAISS file is
written (atomically) before the switch, and the switch is one transaction that
flips ``active``: before it the old generation is served, after it the new one. A
crash after the switch leaves a ``retiring`` generation that the next writable
open deletes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from storage.errors import StoreError
from storage.killpoints import kill_point
from storage.models import EmbeddingRow, GenerationRow, ImageRow
from storage.row_mapping import image_record, index_build_columns
from storage.records import ImageRecord, IndexBuild, IndexVersion, ModelIdentity
from storage.vectors import VectorIndex

if TYPE_CHECKING:
    from storage.store import Store

log = logging.getLogger(__name__)

BUILDING, READY, RETIRING = "building", "ready", "retiring"
_VECTORS_FILE = re.compile(r"vectors-g(\d+)\.(faiss|f16|ids)$")


@dataclass(frozen=True)
class GenerationInfo:
    id: int
    model: ModelIdentity
    status: str
    active: bool
    vector_count: int
    index_version: int
    created_at: datetime


def _info(row: GenerationRow) -> GenerationInfo:
    model = ModelIdentity(row.model_id, row.model_fingerprint, row.dimension)
    return GenerationInfo(row.id, model, row.status, row.active, row.vector_count, row.index_version, row.created_at)


def list_generations(store: "Store") -> list[GenerationInfo]:
    with Session(store.engine) as session:
        return [_info(row) for row in session.execute(select(GenerationRow).order_by(GenerationRow.id)).scalars()]


def stream_vectors(store: "Store", generation: GenerationRow, chunk_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every vector of a generation as (ids, vectors) chunks, in id order, in bounded memory:
    ids and slots from the catalog, vectors from the generation's vector file."""
    file = store.vector_file(generation)
    last_id = -1
    with Session(store.engine) as session:
        while True:
            rows = session.execute(
                select(EmbeddingRow.image_id, EmbeddingRow.slot)
                .where(EmbeddingRow.generation_id == generation.id, EmbeddingRow.image_id > last_id)
                .order_by(EmbeddingRow.image_id)
                .limit(chunk_size)
            ).all()
            if not rows:
                return
            last_id = rows[-1][0]
            rows = [row for row in rows if 0 <= row[1] < file.committed]
            if rows:
                yield np.array([row[0] for row in rows], dtype=np.int64), file.rows(np.array([row[1] for row in rows]))


def catalog_ids(store: "Store", generation_id: int) -> np.ndarray:
    """The ids of the images that have a vector in a generation, sorted."""
    with Session(store.engine) as session:
        query = select(EmbeddingRow.image_id).where(EmbeddingRow.generation_id == generation_id, EmbeddingRow.slot >= 0)
        return np.sort(np.fromiter(session.execute(query).scalars(), dtype=np.int64))


def build_vector_index(store: "Store", generation: GenerationRow) -> tuple[VectorIndex, IndexBuild]:
    """A FAISS index of everything a generation holds, of the type its size and the memory
    budget call for, streamed from its vector file."""
    ids = catalog_ids(store, generation.id)
    policy = store.index_policy
    index_type = policy.index_type_for(len(ids), generation.dimension)
    return VectorIndex.build(index_type, ids, store.vector_file(generation), policy, store.text_queries, store.progress)


class GenerationBuild:
    """A generation being filled beside the active one; ``switch`` puts it in service."""

    def __init__(self, store: "Store", row: GenerationRow):
        self._store = store
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def model(self) -> ModelIdentity:
        return ModelIdentity(self._row.model_id, self._row.model_fingerprint, self._row.dimension)

    def _pending(self):
        return ~exists().where(EmbeddingRow.image_id == ImageRow.id, EmbeddingRow.generation_id == self.id)

    def progress(self) -> tuple[int, int]:
        """(images that have a vector here, images in the catalog)."""
        with Session(self._store.engine) as session:
            total = session.execute(select(func.count()).select_from(ImageRow)).scalar_one()
            pending = session.execute(select(func.count()).select_from(ImageRow).where(self._pending())).scalar_one()
        return total - pending, total

    def pending_sources(self) -> list[str]:
        """Sources (folders, archives) with images that still lack a vector here."""
        with Session(self._store.engine) as session:
            query = select(ImageRow.source).where(self._pending()).distinct().order_by(ImageRow.source)
            return list(session.execute(query).scalars())

    def pending_images(self, source: str) -> list[ImageRecord]:
        with Session(self._store.engine) as session:
            rows = session.execute(
                select(ImageRow).where(ImageRow.source == source, self._pending()).order_by(ImageRow.member)
            ).scalars()
            return [image_record(row) for row in rows]

    def add(self, image_ids: list[int], vectors: np.ndarray) -> None:
        """Commit one batch of vectors: after this, a crash no longer loses them."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(image_ids) != len(vectors):
            raise ValueError(f"{len(image_ids)} ids but {len(vectors)} vectors")
        if not len(vectors):
            return
        if vectors.shape[1] != self._row.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the generation {self._row.dimension}")
        file = self._store.vector_file(self._row)
        start, end = file.write(np.asarray(image_ids, dtype=np.int64), vectors)  # durable before the commit
        with Session(self._store.engine) as session, session.begin():
            session.add_all(
                EmbeddingRow(image_id=int(image_id), generation_id=self.id, slot=start + n)
                for n, image_id in enumerate(image_ids)
            )
            session.execute(update(GenerationRow).where(GenerationRow.id == self.id).values(vector_slots=end))
        file.commit(end)
        kill_point("reindex.batch")

    def switch(self, *, keep: bool = False) -> None:
        """Serve this generation from now on; the old one retires (or is kept with ``keep``).

        Refused while any image lacks a vector here: the old generation stays in service.
        """
        store = self._store
        done, total = self.progress()
        if done != total:
            raise StoreError(
                f"{total - done} of {total} image(s) have no vector in the new generation yet; "
                f"the generation in service is unchanged."
            )
        vectors, index_build = build_vector_index(store, self._row)  # by size and budget, as on save
        vectors.save(store.vectors_path(self._row))
        kill_point("reindex.before-switch")
        with Session(store.engine, expire_on_commit=False) as session, session.begin():
            session.execute(
                update(GenerationRow)
                .where(GenerationRow.active, GenerationRow.id != self.id)
                .values(active=False, status=READY if keep else RETIRING)
            )
            session.execute(
                update(GenerationRow)
                .where(GenerationRow.id == self.id)
                .values(
                    active=True,
                    status=READY,
                    vector_count=vectors.count,
                    index_version=GenerationRow.index_version + 1,
                    **index_build_columns(index_build),
                )
            )
            row = session.get(GenerationRow, self.id)
        store.adopt_generation(row, vectors)
        kill_point("reindex.after-switch")
        drop_retiring(store)


def begin(store: "Store", model: ModelIdentity, index_type: str) -> GenerationBuild:
    """Resume the building generation of ``model``, or start one (dropping a build for another model)."""
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        for row in session.execute(select(GenerationRow).where(GenerationRow.status == BUILDING)).scalars():
            if row.model_fingerprint == model.fingerprint and row.dimension == model.dimension:
                log.info("resuming generation %d (%s)", row.id, row.model_id)
                return GenerationBuild(store, row)
            log.warning("dropping the unfinished generation %d of another model (%s)", row.id, row.model_id)
            session.execute(delete(GenerationRow).where(GenerationRow.id == row.id))
        row = GenerationRow(
            model_id=model.model_id,
            model_fingerprint=model.fingerprint,
            dimension=model.dimension,
            index_type=index_type,
            active=False,
            status=BUILDING,
        )
        session.add(row)
    store.forget_vector_files([row.id])  # an id SQLite reused: its old file object must not be trusted
    return GenerationBuild(store, row)


def drop_retiring(store: "Store") -> int:
    """Delete retired generations (rows, vectors, FAISS files) and FAISS files no generation owns."""
    with Session(store.engine) as session, session.begin():
        retiring = list(session.execute(select(GenerationRow.id).where(GenerationRow.status == RETIRING)).scalars())
        if retiring:
            session.execute(delete(GenerationRow).where(GenerationRow.id.in_(retiring)))  # embeddings cascade
        known = set(session.execute(select(GenerationRow.id)).scalars())
    store.forget_vector_files(retiring)
    for path in stray_vector_files(store, known):
        path.unlink(missing_ok=True)
    return len(retiring)


def stray_vector_files(store: "Store", known_ids: set[int]) -> list:
    """FAISS files (and leftover temp files of interrupted saves) that no generation owns."""
    stray = []
    for path in sorted(store.data_dir.glob("*vectors-g*")):
        match = _VECTORS_FILE.match(path.name)
        if match is None and path.name.startswith(".vectors-g") and path.name.endswith(".tmp"):
            stray.append(path)  # an atomic save that never reached its rename
        elif match is not None and int(match.group(1)) not in known_ids:
            stray.append(path)
    return stray


class GenerationMethods:
    """The :class:`~storage.store.Store` methods about generations: building one beside the
    one in service, and telling a reader when what is in service changed.

    Mixed into Store (they use its engine and generation); kept here so that everything
    about generations has one home.
    """

    def begin_generation(self, model: ModelIdentity) -> GenerationBuild:
        """Start (or resume) building a generation of ``model`` beside the one in service."""
        if not self.writable:
            raise PermissionError("this Store was opened read-only")
        return begin(self, model, VectorIndex.create(model.dimension).index_type)

    @property
    def loaded_version(self) -> IndexVersion | None:
        """Which generation, at which FAISS save, this Store serves."""
        generation = self._generation
        return None if generation is None else IndexVersion(generation.id, generation.index_version)

    def current_version(self) -> IndexVersion | None:
        """What the catalog says is in service now: one small query, cheap enough per request.

        Differs from :attr:`loaded_version` after another process switched generations
        or saved new vectors; a reader then opens a fresh Store to serve them.
        """
        with Session(self._engine) as session:
            row = session.execute(select(GenerationRow.id, GenerationRow.index_version).where(GenerationRow.active)).first()
        return None if row is None else IndexVersion(row[0], row[1])

    def forget_vector_files(self, generation_ids) -> None:
        """Drop the cached vector-file objects of generations deleted (or ids reused)."""
        for generation_id in generation_ids:
            self._files.pop(generation_id, None)

    def adopt_generation(self, generation: GenerationRow, vectors: VectorIndex) -> None:
        """Serve a generation just switched to (by :meth:`GenerationBuild.switch`)."""
        self._generation, self._vectors = generation, vectors
