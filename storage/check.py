"""``rsclip check``: do the catalog and the FAISS file on disk agree? ``--repair``: make them.

The check reads the saved FAISS file itself (not the Store's reconciled copy in
memory), so it reports what a crash really left behind. It looks at:

- the active generation: exactly one, with its model recorded;
- its FAISS file: present, readable, of the recorded dimension, holding exactly the
  ids the catalog has vectors for, once each, with the same vectors (where the index
  keeps vectors; a PQ index keeps codes, so only its ids are compared);
- the catalog: every image has a well-formed vector in the active generation (its
  slot lies within the vector file's committed rows, the row names the image, the
  numbers are finite and not all zero) and at least one file (location) that holds it;
- leftovers: retired generations, FAISS files no generation owns, temp files of
  interrupted saves; an unfinished reindex is reported as a note (it is resumable).

A FAISS file that only lags the catalog (vectors missing from it, ids it still holds
that the catalog deleted, or no file yet) is what an index run killed between two
saves leaves: every open reconciles exactly that from the catalog, a running server
within seconds. Such problems are listed, marked ``reconciled_on_open``, and do not
make the check fail; ``--repair`` (or the next index run) writes the file.

Repair drops bad vectors and leftovers, lets the caller re-embed images that lack a
vector (only the indexer can read files), then rebuilds the FAISS file from the
vector file, which holds every committed vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from storage import generations
from storage.generations import BUILDING, RETIRING, GenerationBuild, GenerationInfo
from storage.locations import chunks, drop_homeless, homeless_images
from storage.models import EmbeddingRow, GenerationRow, ImageRow
from storage.store import Store
from storage.index_policy import PQ
from storage.vector_file import VectorFile
from storage.vectors import VectorIndex

# What opening a Store repairs by itself (Store.reconcile): the file lags the catalog.
RECONCILED_ON_OPEN = frozenset({"faiss-file-missing", "faiss-missing-ids", "faiss-orphan-ids"})
_FAISS_CODES = frozenset(
    {"faiss-file-missing", "faiss-file-unreadable", "faiss-dimension", "faiss-duplicate-ids",
     "faiss-missing-ids", "faiss-orphan-ids", "faiss-vectors-differ"}
)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    count: int = 1
    repair: str = ""  # what --repair does about it; empty when it cannot

    @property
    def reconciled_on_open(self) -> bool:
        """The FAISS file only lags the catalog: every open (a server's reload too) catches up."""
        return self.code in RECONCILED_ON_OPEN


@dataclass
class CheckReport:
    images: int = 0
    catalog_vectors: int = 0
    faiss_vectors: int | None = None
    generation: GenerationInfo | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing is wrong that opening the store would not put right by itself."""
        return all(problem.reconciled_on_open for problem in self.problems)

    def add(self, code: str, message: str, count: int = 1, repair: str = "") -> None:
        self.problems.append(Problem(code, message, count, repair))

    def has(self, *codes: str) -> bool:
        return any(problem.code in codes for problem in self.problems)


def check_store(store: Store) -> CheckReport:
    report = CheckReport(images=store.count())
    all_generations = generations.list_generations(store)
    active = [g for g in all_generations if g.active]
    for g in all_generations:
        if g.status == BUILDING:
            done = _vector_count(store, g.id)
            report.notes.append(
                f"an unfinished reindex to {g.model.model_id} (generation {g.id}) holds {done} of "
                f"{report.images} vectors; `rsclip reindex --model {g.model.model_id}` resumes it"
            )
        elif g.status == RETIRING:
            report.add("retired-generation", f"generation {g.id} was replaced but not yet deleted", repair="delete it")
    if len(active) > 1:
        report.add("several-active-generations", f"generations {[g.id for g in active]} are all marked active")
    if not active:
        if report.images:
            report.add("no-active-generation", f"{report.images} image(s) but no active generation (no model recorded)")
        _check_leftovers(store, report, all_generations)
        return report
    generation = report.generation = active[0]
    model = generation.model
    if not (model.model_id and model.fingerprint and model.dimension > 0):
        report.add("model-not-recorded", f"generation {generation.id} does not record its model: {model}")
    catalog_ids = _check_catalog_vectors(store, report, generation)
    _check_vector_file_length(store, report, generation)
    _check_faiss_file(store, report, generation, catalog_ids)
    _check_leftovers(store, report, all_generations)
    return report


def _vector_count(store: Store, generation_id: int) -> int:
    with Session(store.engine) as session:
        query = select(func.count()).select_from(EmbeddingRow).where(EmbeddingRow.generation_id == generation_id)
        return session.execute(query).scalar_one()


def _check_catalog_vectors(store: Store, report: CheckReport, generation: GenerationInfo) -> np.ndarray:
    """Vectors in the catalog: well formed, one per image, each image held by some file."""
    dimension = generation.model.dimension
    ids, malformed = [], 0
    for chunk_ids, good in _embedding_chunks(store, generation.id):
        malformed += int((~good).sum())
        ids.extend(chunk_ids[good].tolist())
    with Session(store.engine) as session:
        without = session.execute(
            select(func.count()).select_from(ImageRow).where(
                ~exists().where(EmbeddingRow.image_id == ImageRow.id, EmbeddingRow.generation_id == generation.id)
            )
        ).scalar_one()
        homeless = len(homeless_images(session))
    if malformed:
        report.add("catalog-vectors-malformed", f"{malformed} stored vector(s) are not {dimension} finite numbers",
                   malformed, "delete them and re-embed their images")
    if without:
        report.add("images-without-vector", f"{without} image(s) have no vector in generation {generation.id}",
                   without, "re-embed them from their files")
    if homeless:
        report.add("images-without-file", f"{homeless} image(s) are held by no recorded file", homeless,
                   "delete them (run `rsclip index` on their files to add them again)")
    report.catalog_vectors = len(ids)
    return np.asarray(sorted(ids), dtype=np.int64)


def _check_vector_file_length(store: Store, report: CheckReport, generation: GenerationInfo) -> None:
    file = _vector_file(store, generation.id)
    readable = file.readable_rows()
    if readable < file.committed:
        report.add("vector-file-short", f"{file.vectors_path.name} holds {readable} of the {file.committed} rows "
                   f"the catalog committed", file.committed - readable, "re-embed the images whose rows are lost")


def _check_faiss_file(store: Store, report: CheckReport, generation: GenerationInfo, catalog_ids: np.ndarray) -> None:
    rebuild = "rebuild the FAISS file from the catalog"
    path = store.data_dir / f"vectors-g{generation.id}.faiss"
    if not path.is_file():
        if len(catalog_ids):
            report.add("faiss-file-missing", f"{path.name} is missing", repair=rebuild)
        return
    try:
        vectors = VectorIndex.load(path)
    except RuntimeError as exc:
        report.add("faiss-file-unreadable", f"{path.name} cannot be read: {str(exc).splitlines()[0][:200]}", repair=rebuild)
        return
    report.faiss_vectors = vectors.count
    if vectors.dimension != generation.model.dimension:
        report.add("faiss-dimension", f"{path.name} holds {vectors.dimension}-d vectors, the model makes "
                   f"{generation.model.dimension}-d", repair=rebuild)
        return
    faiss_ids = vectors.ids()
    unique_ids = np.unique(faiss_ids)
    if len(unique_ids) != len(faiss_ids):
        count = len(faiss_ids) - len(unique_ids)
        report.add("faiss-duplicate-ids", f"{count} id(s) appear more than once in {path.name}", count, rebuild)
    missing = np.setdiff1d(catalog_ids, unique_ids)
    orphans = np.setdiff1d(unique_ids, catalog_ids)
    if len(missing):
        report.add("faiss-missing-ids", f"{len(missing)} vector(s) in the catalog are missing from {path.name}",
                   len(missing), rebuild)
    if len(orphans):
        report.add("faiss-orphan-ids", f"{len(orphans)} id(s) in {path.name} are unknown to the catalog",
                   len(orphans), rebuild)
    vectors.source = _vector_file(store, generation.id)
    differ = _count_differing(vectors, np.intersect1d(catalog_ids, unique_ids))
    if differ:
        report.add("faiss-vectors-differ", f"{differ} vector(s) in {path.name} differ from the catalog's", differ, rebuild)


def _count_differing(vectors: VectorIndex, ids: np.ndarray) -> int:
    """Vectors the index holds that differ from the vector file's (0 for an index that keeps none)."""
    if vectors.kind == PQ:
        return 0
    differ = 0
    for chunk_ids, stored in vectors.source.chunks(ids, 4096):
        held = np.stack([vectors.reconstruct(image_id) for image_id in chunk_ids])
        differ += int((~np.isclose(held, stored, atol=1e-3).all(axis=1)).sum())
    return differ


def _check_leftovers(store: Store, report: CheckReport, all_generations: list[GenerationInfo]) -> None:
    stray = generations.stray_vector_files(store, {g.id for g in all_generations})
    if stray:
        names = ", ".join(path.name for path in stray[:5])
        report.add("stray-files", f"{len(stray)} file(s) belong to no generation: {names}", len(stray), "delete them")


Reembed = Callable[[GenerationBuild], list[str]]


def repair_store(store: Store, report: CheckReport, reembed: Reembed | None = None) -> list[str]:
    """Fix what ``report`` found that can be fixed; returns what was done, one line each.

    ``reembed(target)`` gives every image without a vector in ``target`` one and returns
    the images it could not (``indexer.reindex.embed_pending`` does that).
    """
    if not store.writable:
        raise PermissionError("repair needs the Store opened writable")
    done: list[str] = []
    generation = report.generation
    if report.has("retired-generation", "stray-files"):
        done.append(f"deleted {generations.drop_retiring(store)} retired generation(s) and leftover files")
    if generation is None:
        return done
    if report.has("vector-file-short"):
        done.append(f"cut the vector file to the {_cut_vector_file(store, generation)} rows it still holds")
    if report.has("catalog-vectors-malformed", "vector-file-short"):
        done.append(f"deleted {_delete_malformed(store, generation)} malformed vector(s)")
    if report.has("images-without-file"):
        with Session(store.engine) as session, session.begin():
            homeless = drop_homeless(session)
        done.append(f"deleted {len(homeless)} image(s) no file holds")
    if report.has("images-without-vector", "catalog-vectors-malformed") and reembed is not None:
        with Session(store.engine, expire_on_commit=False) as session:
            row = session.get(GenerationRow, generation.id)
        failures = reembed(GenerationBuild(store, row))
        done.append("re-embedded the images without a vector" + (f"; {len(failures)} could not be read" if failures else ""))
        done.extend(f"  not re-embedded: {failure}" for failure in failures)
    if done or report.has(*_FAISS_CODES):
        with Session(store.engine, expire_on_commit=False) as session:
            row = session.get(GenerationRow, generation.id)
        rebuilt, build = generations.build_vector_index(store, row)
        store.adopt_generation(row, rebuilt)
        rebuilt.save(store.vectors_path(row))
        store.record_build(build)
        done.append(f"rebuilt vectors-g{generation.id}.faiss from the vector file ({rebuilt.count} vectors, {build.index_type})")
    return done


def _cut_vector_file(store: Store, generation: GenerationInfo) -> int:
    """Make the committed length what the files still hold, so appends continue from there."""
    file = _vector_file(store, generation.id)
    rows = file.readable_rows()
    with Session(store.engine) as session, session.begin():
        session.execute(update(GenerationRow).where(GenerationRow.id == generation.id).values(vector_slots=rows))
    store.forget_vector_files([generation.id])
    return rows


def _vector_file(store: Store, generation_id: int) -> VectorFile:
    with Session(store.engine, expire_on_commit=False) as session:
        return store.vector_file(session.get(GenerationRow, generation_id))


def _embedding_chunks(store: Store, generation_id: int, chunk: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(image ids, well-formed?) of a generation's embedding rows, block by block."""
    file = _vector_file(store, generation_id)
    readable = min(file.committed, file.readable_rows())
    with Session(store.engine) as session:
        query = select(EmbeddingRow.image_id, EmbeddingRow.slot).where(EmbeddingRow.generation_id == generation_id)
        rows = session.execute(query.execution_options(yield_per=chunk))
        for block in rows.partitions(chunk):
            ids = np.array([row[0] for row in block], dtype=np.int64)
            slots = np.array([row[1] for row in block], dtype=np.int64)
            good = (slots >= 0) & (slots < readable)
            good[good] &= np.asarray(file.slot_ids()[slots[good]]) == ids[good]
            if good.any():
                rows_read = file.rows(slots[good])
                good[good] = np.isfinite(rows_read).all(axis=1) & rows_read.any(axis=1)
            yield ids, good


def _delete_malformed(store: Store, generation: GenerationInfo) -> int:
    bad = [int(i) for ids, good in _embedding_chunks(store, generation.id) for i in ids[~good]]
    with Session(store.engine) as session, session.begin():
        for chunk in chunks(bad):
            session.execute(
                delete(EmbeddingRow).where(EmbeddingRow.generation_id == generation.id, EmbeddingRow.image_id.in_(chunk))
            )
    return len(bad)
