"""An index run: sources -> decode -> encode -> store, with a report of what happened.

The driver walks the inputs on the calling thread (tar streams must be read in order)
and decides what each input needs (``indexer/incremental.py``: skip, replace, prune;
identical content is stored once). What is left to do goes to an executor as work
units (``indexer/work.py``): by default threads on this machine that decode a bounded
window ahead of a model thread (``indexer/executors.py``), or a Ray cluster
(``indexer/ray_executor.py``). Everything that touches the store stays on the calling
thread, in order: results are stored in committed batches as they come back.

A raster scene (see ``indexer.raster``) is not one item but many: it is cut into
chips, each read window by window where it is prepared, so a scene larger than memory
indexes fine. Plain pictures keep the one-file-one-item path.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.chips import plan_chips
from indexer.decode import DEFAULT_MAX_PIXELS
from indexer.executors import Executor, Failed, Outcome, Skipped, ThreadExecutor
from indexer.imagery import scene_of
from indexer.incremental import ChangeTracker, chip_placement, raster_recipe
from indexer.limits import FailureKind, InputLimits, InputRefused
from indexer.probes import text_probe_vectors
from indexer.raster import RasterError, RasterOptions, Scene, is_raster_name
from indexer.report import record_run
from indexer.sources import SourceFailure, SourceItem, iter_sources, location
from indexer.stacks import BandStack, group_band_stacks
from indexer.work import ChipWork, PictureWork, PrepareOptions, Work
from storage import NewImage, Placement, RecordedLocation, Store
from storage.killpoints import kill_point

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 30.0
# A checkpoint rewrites the whole FAISS file (4 GB at 1M x 1024); the catalog already holds
# every vector, so checkpoints only speed up reopening. Keep their cost under ~10 % of a run.
CHECKPOINT_COST_SHARE = 0.10
CHIP_BLOCK = 4096  # a scene's chips planned and looked up in the catalog this many at a time


@dataclass(frozen=True)
class Failure:
    source: str
    member: str
    reason: str
    kind: str = FailureKind.UNREADABLE  # see indexer.limits.FailureKind

    @property
    def name(self) -> str:
        return location(self.source, self.member)


@dataclass
class IndexReport:
    seen: int = 0
    added: int = 0
    unchanged: int = 0  # same path, size and mtime as recorded (or same content): not embedded again
    already_indexed: int = 0  # content stored before under another path
    duplicates: int = 0
    replaced: int = 0  # path indexed before, content changed: embedded again, old content dropped
    pruned: int = 0  # recorded files no longer found (with prune)
    pruned_images: int = 0  # images dropped by prune because no file holds their content any more
    scenes: int = 0  # raster scenes cut into chips
    mostly_nodata: int = 0  # chips skipped for holding too little data
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def images_per_second(self) -> float:
        return self.added / self.seconds if self.seconds else 0.0


class IndexRun:
    """One pass over the inputs into ``store`` with ``encoder``.

    The driver (this class) walks the inputs, decides what each needs (skip, dedupe,
    replace, prune marks), hands the rest to ``executor`` as work units, and stores what
    comes back in committed batches. ``executor`` defaults to threads on this machine
    (:class:`indexer.executors.ThreadExecutor`); ``indexer.ray_executor.RayExecutor``
    runs the same steps on a Ray cluster and ends in the same catalog.
    """

    def __init__(
        self,
        store: Store,
        encoder,
        *,
        batch_size: int = 16,
        workers: int = 2,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        limits: InputLimits | None = None,
        progress: bool = True,
        raster: RasterOptions | None = None,
        prune: bool = False,
        rehash: bool = False,
        executor: Executor | None = None,
        progress_label: str = "indexing",
    ):
        self.store = store
        self.encoder = encoder
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.limits = limits or InputLimits()
        self.progress = progress
        self.progress_label = progress_label
        self.raster = raster or RasterOptions()
        self.prune = prune
        self.rehash = rehash
        options = PrepareOptions(max_pixels=max_pixels, max_nodata=self.raster.max_nodata, limits=self.limits)
        self.executor = executor or ThreadExecutor(encoder, batch_size=batch_size, workers=workers, options=options)
        self.changes: ChangeTracker | None = None
        self._recipe = raster_recipe(self.raster)
        self.report = IndexReport()
        self._hashes_this_run: set[str] = set()
        self._batch: list[tuple[NewImage, np.ndarray]] = []
        self._unhashed: dict[tuple[str, str], list[RecordedLocation]] = {}  # files the executor reads and hashes
        self._last_checkpoint = time.monotonic()
        self._checkpoint_interval = CHECKPOINT_SECONDS

    def run(self, paths: Iterable[str | Path]) -> IndexReport:
        started = time.monotonic()
        paths = list(paths)
        self.changes = ChangeTracker(self.store, rehash=self.rehash, prune_roots=paths if self.prune else None)
        self.store.calibrate_with(text_probe_vectors(self.encoder))  # in case the index type changes
        bar = tqdm(desc=self.progress_label, unit="img", disable=not self.progress, dynamic_ncols=True)
        for outcome in self.executor.run(self._work(paths)):
            self._collect(outcome, bar)
        self._flush(final=True)
        swept = self.changes.sweep()
        self.report.pruned, self.report.pruned_images = swept.removed_locations, swept.removed_images
        self.store.save()
        bar.close()
        self.report.seconds = time.monotonic() - started
        record_run(self.store, self.report, paths)
        return self.report

    def _inputs(self, paths: Iterable[str | Path]):
        entries = iter_sources(paths, self.limits)
        if self.raster.stack:
            entries = group_band_stacks(entries, self.raster.stack, self.raster.bands)
        return entries

    def _work(self, paths: list[str | Path]) -> Iterator[Work]:
        """The driver's walk: what is left to do for each input, in the inputs' order."""
        for entry in self._inputs(paths):
            if isinstance(entry, SourceFailure):
                self.report.seen += 1  # seen = added + already indexed + duplicates + failed (+ nodata chips)
                self._fail(entry.source, entry.member, entry.reason, entry.kind)
                continue
            yield from self._admit(entry)

    def _admit(self, entry: SourceItem | BandStack) -> Iterator[Work]:
        """Read an input; queue a picture as one item, a raster scene as its chips."""
        previous = self.changes.previous(entry)
        skipped = self.changes.unchanged(entry, previous, self._recipe)
        if skipped:  # not even read
            self.report.seen += skipped
            self.report.unchanged += skipped
            return
        if getattr(self.executor, "reads_files", False) and _plain_file(entry):
            yield self._unhashed_file(entry, previous)  # read and hashed where it is prepared
            return
        try:
            scene, data = scene_of(entry, self.raster)
        except RasterError as exc:
            self.report.seen += 1
            self._fail(entry.source, entry.member, str(exc), FailureKind.RASTER)
            return
        except InputRefused as refused:
            self.report.seen += 1
            self._fail(entry.source, entry.member, refused.reason, refused.kind)
            return
        except Exception as exc:  # a member that cannot be read must not stop the run
            self.report.seen += 1
            self._fail(entry.source, entry.member, f"cannot read: {exc}")
            return
        if scene is not None:
            yield from self._admit_chips(scene, previous)
            return
        self.report.seen += 1
        sha256 = hashlib.sha256(data).hexdigest()
        placement = Placement(entry.source, entry.member, len(data), entry.mtime, sha256)
        self.changes.supersede(previous, self._recipe, {placement.part})
        if self._known(placement, self.store.existing_sha256([sha256]), _recorded(previous)):
            return
        yield PictureWork(entry.source, entry.member, entry.mtime, data=data, sha256=sha256, replaces=bool(previous))

    def _unhashed_file(self, entry: SourceItem, previous: list[RecordedLocation]) -> PictureWork:
        """A picture file the executor reads: its content is checked against the store when
        it comes back (content already stored is then only placed, as here)."""
        self.report.seen += 1
        self.changes.supersede(previous, self._recipe, {""})
        self._unhashed[(entry.source, entry.member)] = previous
        return PictureWork(entry.source, entry.member, entry.mtime, path=entry.path, replaces=bool(previous))

    def _admit_chips(self, scene: Scene, previous: list[RecordedLocation]) -> Iterator[ChipWork]:
        """Queue a scene's chips, planned and looked up a block at a time: memory stays flat
        however many chips the scene declares (open_scene refused more than --max-chips-per-scene)."""
        self.report.scenes += 1
        recorded = _recorded(previous)
        parts_before = {loc.part for loc in previous}
        parts_still_cut: set[str] = set()
        try:
            for block in batched(plan_chips(scene, self.raster), CHIP_BLOCK):
                stored = self.store.existing_sha256([chip.sha256 for chip in block])
                for chip in block:
                    placement = chip_placement(chip, self._recipe)
                    if placement.part in parts_before:
                        parts_still_cut.add(placement.part)
                    self.report.seen += 1
                    if not self._known(placement, stored, recorded):
                        yield ChipWork(chip, self.raster.max_nodata, replaces=bool(previous))
        except RasterError as exc:
            self.report.seen += 1
            self._fail(scene.source, scene.name, str(exc), FailureKind.RASTER)
            return
        self.changes.supersede(previous, self._recipe, parts_still_cut)

    def _known(self, placement: Placement, stored: dict[str, int], recorded: set[tuple[str, str]]) -> bool:
        """Count and drop content seen earlier in this run or already in the store.

        Such content is not embedded again; only where it lies now is recorded.
        """
        sha256 = placement.sha256
        if sha256 in self._hashes_this_run:
            self.report.duplicates += 1
            self.changes.place(placement)
            return True
        self._hashes_this_run.add(sha256)
        if sha256 in stored:
            if (placement.part, sha256) in recorded:  # the same content where it was: only size/mtime are updated
                self.report.unchanged += 1
            else:
                self.report.already_indexed += 1
            self.changes.place(placement)
            return True
        return False

    def _collect(self, outcome: Outcome, bar: tqdm) -> None:
        work = outcome.work
        if isinstance(outcome, Failed):
            self._fail(work.source, work.member, outcome.reason, outcome.kind)
            return
        if isinstance(outcome, Skipped):
            self.report.mostly_nodata += 1
            return
        record = outcome.record
        previous = self._unhashed.pop((work.source, work.member), None)
        if previous is not None:  # hashed by the executor: decide now what the driver decides up front
            placement = Placement(record.source, record.member, record.byte_size, record.mtime, record.sha256)
            if self._known(placement, self.store.existing_sha256([record.sha256]), _recorded(previous)):
                return
        self._batch.append((record, outcome.vector))
        self.report.replaced += work.replaces
        bar.update(1)
        if len(self._batch) >= self.batch_size:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        """Store (and commit) the batch, then write what the driver learnt meanwhile."""
        if self._batch:
            records = [record for record, _ in self._batch]
            vectors = np.stack([vector for _, vector in self._batch])
            self._batch.clear()
            self.store.add(records, vectors, recipe=self._recipe)
            self.changes.stored(record.sha256 for record in records)  # their copies waiting meanwhile may be placed
            self.report.added += len(records)
            kill_point("index.batch")
        self.changes.flush(final)  # content still in the executor is placed at a later flush
        if time.monotonic() - self._last_checkpoint > self._checkpoint_interval:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Save FAISS, then space the next save so saving stays a small share of the run."""
        started = time.monotonic()
        self.store.save()
        self._last_checkpoint = time.monotonic()
        took = self._last_checkpoint - started
        self._checkpoint_interval = max(CHECKPOINT_SECONDS, took / CHECKPOINT_COST_SHARE)

    def _fail(self, source: str, member: str, reason: str, kind: str = FailureKind.UNREADABLE) -> None:
        failure = Failure(source, member, reason, kind)
        self.report.failures.append(failure)
        self.changes.keep(source, member)
        log.info("skipped %s: %s", failure.name, reason)


def _recorded(previous: list[RecordedLocation]) -> set[tuple[str, str]]:
    """(part, sha256) of an input's recorded locations: what "the same content where it was" means."""
    return {(loc.part, loc.sha256) for loc in previous}


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` items (the last shorter): itertools.batched, which Python 3.11 lacks."""
    items = iter(items)
    while block := list(islice(items, size)):
        yield block


def _plain_file(entry) -> bool:
    """A picture that is a file on disk (not an archive member, not a raster scene)."""
    return isinstance(entry, SourceItem) and entry.path is not None and not is_raster_name(entry.member)


def index_paths(paths: Iterable[str | Path], store: Store, encoder, **options) -> IndexReport:
    """Index ``paths`` into ``store``; options as :class:`IndexRun` (``prune``, ``rehash``...)."""
    return IndexRun(store, encoder, **options).run(paths)
