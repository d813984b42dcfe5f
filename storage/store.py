"""The one class that keeps the SQLite catalog and the FAISS index in step.

Invariants (checked and restored by :meth:`Store.reconcile` whenever a store opens):
- every image has exactly one vector in the active generation, under the same id;
- FAISS holds exactly the ids the catalog holds for that generation;
- the generation records the model (name, weight fingerprint, dimension).

Order of writes: a batch's vectors are appended to the generation's vector file
(float16, fsynced; see ``storage/vector_file.py``) past its committed length; then its
rows, each naming its vector's slot, and the new committed length are committed to
the catalog in one transaction; then the vectors are added to FAISS in memory; FAISS
is saved atomically at checkpoints. A crash anywhere loses nothing committed: rows
past the committed length are never read, and the next open re-adds from the vector
file whatever the saved FAISS file lacks.

Reading (records, vectors, search, stats) is in ``storage/reading.py``; where each
image's content lives (and incremental updates, prune) in ``storage/locations.py``;
building a new generation beside this one and switching to it in
``storage/generations.py``; ``storage/check.py`` verifies and repairs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import generations
from storage import write_lock
from storage.catalog import CATALOG_FILE, catalog_url, default_database_url, open_catalog  # noqa: F401 (re-exported)
from storage.errors import ModelMismatchError, StoreError, StoreNotFoundError
from storage.generations import GenerationMethods
from storage.killpoints import kill_point
from storage.locations import LocationMethods, part_of, point, release
from storage.models import EmbeddingRow, GenerationRow, ImageRow
from storage.index_policy import IndexPolicy
from storage.reading import ReadingMethods
from storage.records import IndexBuild, ModelIdentity, NewImage
from storage.row_mapping import image_row, index_build_columns, index_build_of, model_identity_of
from storage.runs import RunLog
from storage.vector_file import VectorFile, stored_form
from storage.vectors import TextQueries, VectorIndex
from storage.write_errors import guard_writes
from storage.write_lock import LOCK_FILE  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


class Store(LocationMethods, GenerationMethods, ReadingMethods):
    """Catalog + vector index of one data directory.

    Open with ``writable=True`` to index: that takes the catalog's write lock (``write_lock``:
    a file in the data directory, or a PostgreSQL advisory lock), so a second writer, on this
    machine or another, gets :class:`StoreLockedError` instead of corrupting anything.
    Readers take no lock and may run beside a writer. ``recover=False`` opens the
    files as they are on disk (for ``rsclip check``), without reconciling them.

    The vector index type follows the collection's size (``index_policy``): a writer
    checks it at every save and rebuilds, measuring an approximate index's recall.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        database_url: str | None = None,
        writable: bool = False,
        recover: bool = True,
        index_policy: IndexPolicy | None = None,
        progress: bool = False,
    ):
        self.data_dir = Path(data_dir)
        if not writable and not self.data_dir.is_dir():
            raise StoreNotFoundError(
                f"No index at {self.data_dir}: run `rsclip index PATH --data-dir {self.data_dir}` first."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.writable = writable
        self.index_policy = index_policy or IndexPolicy()
        self.progress = progress  # progress bars while (re)building the vector index
        self._files: dict[int, VectorFile] = {}  # generation id -> its vector file (one writer object each)
        self._text_queries: TextQueries = None
        self._lock = write_lock.acquire(self.data_dir, catalog_url(self.data_dir, database_url)) if writable else None
        try:
            self.database_url, self._engine = open_catalog(self.data_dir, database_url, writable=writable)
        except BaseException:
            self._release_lock()
            raise
        self._generation: GenerationRow | None = None
        self._vectors: VectorIndex | None = None
        self._reconciled_through: int | None = None  # newest image id when FAISS was last reconciled
        try:
            self._open_active_generation(recover)
            if writable and recover:
                generations.drop_retiring(self)  # finish a reindex that crashed after its switch
        except BaseException:
            self.close()
            raise

    # -- lifecycle ------------------------------------------------------------
    def close(self) -> None:
        self._engine.dispose()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- model ----------------------------------------------------------------
    @property
    def engine(self):
        """The SQLAlchemy engine of the catalog, for the store's own modules (generations, check)."""
        return self._engine

    @property
    def text_queries(self) -> TextQueries:
        """Typical text queries handed over for calibrating an approximate index (or None)."""
        return self._text_queries

    @property
    def model(self) -> ModelIdentity | None:
        return None if self._generation is None else model_identity_of(self._generation)

    @guard_writes
    def bind_model(self, identity: ModelIdentity) -> None:
        """Record the model of a new index, or refuse a different one for an existing index."""
        if self._generation is None:
            if not self.writable:
                raise StoreNotFoundError(f"The index at {self.data_dir} is empty: run `rsclip index` first.")
            vectors = VectorIndex.create(identity.dimension)
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                generation = GenerationRow(
                    model_id=identity.model_id,
                    model_fingerprint=identity.fingerprint,
                    dimension=identity.dimension,
                    index_type=vectors.index_type,
                    active=True,
                )
                session.add(generation)
            self._generation, self._vectors = generation, vectors
            vectors.source = self.vector_file(generation)
            return
        current = model_identity_of(self._generation)
        if current.fingerprint != identity.fingerprint or current.dimension != identity.dimension:
            raise ModelMismatchError(
                f"The index at {self.data_dir} was built with model '{current.model_id}' "
                f"({current.dimension}-d); '{identity.model_id}' ({identity.dimension}-d) is a different "
                f"model. Use --model {current.model_id}, move the index to the other model with "
                f"`rsclip reindex --model {identity.model_id}`, or use a new --data-dir for it."
            )

    # -- writing --------------------------------------------------------------
    def existing_sha256(self, hashes: Iterable[str]) -> dict[str, int]:
        """Map each already stored content hash to its image id."""
        hashes = list(set(hashes))
        found: dict[str, int] = {}
        with Session(self._engine) as session:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                rows = session.execute(select(ImageRow.sha256, ImageRow.id).where(ImageRow.sha256.in_(chunk)))
                found.update({sha: image_id for sha, image_id in rows})
        return found

    @guard_writes
    def add(self, images: Sequence[NewImage], vectors: np.ndarray, *, recipe: str = "") -> list[int]:
        """Store a batch in one transaction, then make it searchable. Returns the new ids.

        ``recipe`` names the chipping options that cut raster chips (see ``locations.window_part``).
        """
        self._require_writable()
        if len(images) != len(vectors):
            raise ValueError(f"{len(images)} images but {len(vectors)} vectors")
        if not images:
            return []
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self._generation.dimension:
            raise ValueError(f"vectors of shape {vectors.shape}, the index takes {self._generation.dimension} dimensions")
        file = self.vector_file(self._generation)
        with Session(self._engine) as session, session.begin():
            rows = [image_row(image) for image in images]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
            start, end = file.write(np.asarray(ids, dtype=np.int64), vectors)  # durable before the commit
            session.add_all(
                EmbeddingRow(image_id=image_id, generation_id=self._generation.id, slot=start + n)
                for n, image_id in enumerate(ids)
            )
            session.execute(update(GenerationRow).where(GenerationRow.id == self._generation.id).values(vector_slots=end))
            # the new content's files; content they held before goes if no file holds it now
            placed = [(i.source, i.member, part_of(i, recipe), i.byte_size, i.mtime, n) for i, n in zip(images, ids)]
            replaced = point(session, placed)
            removed = release(session, replaced)
        file.commit(end)
        # as the file gives them back, so the index scores exactly what the vector file holds
        self._vectors.add(np.asarray(ids, dtype=np.int64), stored_form(vectors))
        self._vectors.remove(np.asarray(removed, dtype=np.int64))
        return ids

    @guard_writes
    def save(self) -> None:
        """Checkpoint: write FAISS atomically and record what it holds."""
        self._require_writable()
        if self._generation is None:
            return
        rebuilt = self._vectors.rebuild_if_needed(self.index_policy, self._text_queries, self.progress)
        build = None
        if rebuilt is not None:
            self._vectors, build = rebuilt  # searches already running finish on the old index
        self._vectors.save(self.vectors_path(self._generation))
        kill_point("store.save")
        self.record_build(build)

    def record_build(self, build: IndexBuild | None) -> None:
        """Record that the active generation's FAISS file was saved (and how it was built, if it was)."""
        values = dict(vector_count=self._vectors.count, index_version=GenerationRow.index_version + 1)
        if build is not None:
            values.update(index_build_columns(build))
        with Session(self._engine) as session, session.begin():
            session.execute(update(GenerationRow).where(GenerationRow.id == self._generation.id).values(**values))
        self._generation = self._load_active_generation()

    def calibrate_with(self, text_queries: TextQueries) -> None:
        """Give the store the model's vectors of typical text queries (a callable, called only
        when an approximate index is built), so its recall is measured on real text queries."""
        self._text_queries = text_queries

    @property
    def runs(self) -> RunLog:
        """The log of index runs and what each could not index."""
        return RunLog(self._engine, self.data_dir, writable=self.writable)

    # -- consistency ----------------------------------------------------------
    def reconcile(self) -> tuple[int, int]:
        """Make FAISS hold exactly the catalog's vectors. Returns (added, removed).

        Runs on every open; after a clean shutdown it finds nothing to do.
        """
        if self._generation is None:
            return 0, 0
        newest = self.newest_image_id()  # read first: what is committed after it is caught next time
        catalog_ids = generations.catalog_ids(self, self._generation.id)  # those with a readable vector
        index_ids = self._vectors.ids()
        if len(index_ids) == 0 and len(catalog_ids) > 0:
            rebuilt = self._rebuild_from_file(catalog_ids)
            self._reconciled_through = newest
            return rebuilt, 0
        orphans = np.setdiff1d(index_ids, catalog_ids, assume_unique=True)
        missing = np.setdiff1d(catalog_ids, index_ids, assume_unique=True)
        removed = self._vectors.remove(orphans)
        for ids, vectors in self.vector_file(self._generation).chunks(missing, 4096):
            self._vectors.add(ids, vectors)
        if len(missing) or removed:
            log.warning("reconciled %s: %d vectors re-added, %d orphans removed", self.data_dir, len(missing), removed)
            if self.writable:
                self.save()
        self._reconciled_through = newest
        return len(missing), removed

    def _rebuild_from_file(self, catalog_ids: np.ndarray) -> int:
        """An empty index (its file lost or unreadable) is built from the vector file at once,
        as the type the collection's size calls for: never every vector into exact search first."""
        policy = self.index_policy
        index_type = policy.index_type_for(len(catalog_ids), self._generation.dimension)
        file = self.vector_file(self._generation)
        log.warning("rebuilding the vector index of %s from its vector file (%d vectors)", self.data_dir, len(catalog_ids))
        self._vectors, build = VectorIndex.build(index_type, catalog_ids, file, policy, self._text_queries, self.progress)
        if self.writable:
            self._vectors.save(self.vectors_path(self._generation))
            self.record_build(build)
        return len(catalog_ids)

    def vector_file(self, generation: GenerationRow) -> VectorFile:
        """The vector file of a generation: one object per generation, so that every writer
        (index run, reindex, repair) appends after the rows the others committed."""
        file = self._files.get(generation.id)
        if file is None:
            file = self._files[generation.id] = VectorFile(
                self.data_dir, generation.id, generation.dimension, generation.vector_slots or 0
            )
            # Mapped at once: a reader keeps the rows of the generation it serves even if
            # another process's reindex retires it and deletes the files meanwhile.
            file.slot_ids()
        return file

    def newest_image_id(self) -> int:
        """The highest image id in the catalog (0 when empty): one index lookup."""
        with Session(self._engine) as session:
            return session.execute(select(func.max(ImageRow.id))).scalar_one() or 0

    def catalog_ahead(self) -> bool:
        """Has the catalog committed images since this Store reconciled its FAISS copy?

        A writer commits each batch before its next FAISS save, and one killed in
        between never saves: a reader then reopens (which reconciles) to serve them.
        False for a Store that never reconciled (opened with ``recover=False``).
        """
        return self._reconciled_through is not None and self.newest_image_id() > self._reconciled_through

    # -- internals ------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self.writable:
            raise PermissionError("this Store was opened read-only")
        if self._generation is None:
            raise RuntimeError("bind_model() must be called before writing")

    def _open_active_generation(self, recover: bool) -> None:
        """Load the active generation's FAISS file (and reconcile it with the catalog).

        A reader may open while a reindex switches generations and deletes the old
        one's files and vectors; it then tries again, so it never serves a half-gone one.
        """
        for _attempt in range(10):
            generation = self._load_active_generation()
            if generation is None:
                return
            try:
                self._generation, self._vectors = generation, self._open_vectors(generation)
            except RuntimeError:
                if not self.vectors_path(generation).exists():
                    continue  # a reindex deleted it between the check and the read: look again
                log.warning("%s cannot be read; rebuilding it from the vector file", self.vectors_path(generation))
                self._generation, self._vectors = generation, VectorIndex.create(generation.dimension)
                self._vectors.source = self.vector_file(generation)
            if recover:
                self.reconcile()
            current = self._load_active_generation()
            if self.writable or (current is not None and current.id == generation.id):
                return
        raise StoreError(f"The index at {self.data_dir} kept changing while it was being opened; try again.")

    def _load_active_generation(self) -> GenerationRow | None:
        with Session(self._engine, expire_on_commit=False) as session:
            return session.execute(select(GenerationRow).where(GenerationRow.active)).scalars().first()

    def vectors_path(self, generation: GenerationRow) -> Path:
        return self.data_dir / f"vectors-g{generation.id}.faiss"

    def _open_vectors(self, generation: GenerationRow) -> VectorIndex:
        path = self.vectors_path(generation)
        self._files.pop(generation.id, None)  # its committed length as the catalog says now
        vectors = VectorIndex.load(path) if path.is_file() else VectorIndex.create(generation.dimension)
        if vectors.dimension != generation.dimension:
            raise RuntimeError(f"{path.name} holds {vectors.dimension}-d vectors, the generation {generation.dimension}-d")
        vectors.source = self.vector_file(generation)
        vectors.tune(index_build_of(generation))
        return vectors
