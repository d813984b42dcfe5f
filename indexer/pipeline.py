"""An index run: sources -> decode -> encode -> store, with a report of what happened.

Reading happens on the calling thread (tar streams must be read in order); decoding
and preprocessing run on worker threads, a bounded window ahead of the model; the
model runs on a thread of its own, a batch at a time, while the calling thread reads,
collects the next batch and stores the previous one (everything that touches the
store stays on the calling thread, in order). So the model never waits for decoding,
and memory stays bounded however large the archive (two batches being decoded, one
being assembled, one in the model). Identical content is stored once.

A raster scene (see ``indexer.raster``) is not one item but many: it is cut into
chips, each read window by window on the workers, so a scene larger than memory
indexes fine. Plain pictures keep the one-file-one-item path.

Files (and scenes) indexed before are skipped, replaced or pruned as
``indexer/incremental.py`` says.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from PIL import Image

from indexer.chips import PlannedChip, plan_chips, read_chip_item
from indexer.imagery import scene_of
from indexer.decode import DEFAULT_MAX_PIXELS, DecodeError, decode_image
from indexer.probes import text_probe_vectors
from indexer.incremental import ChangeTracker, chip_placement, raster_recipe
from indexer.limits import FailureKind, InputLimits, InputRefused
from indexer.raster import RasterError, RasterOptions, Scene
from indexer.report import record_run
from indexer.sources import SourceFailure, SourceItem, iter_sources, location
from indexer.stacks import BandStack, group_band_stacks
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


@dataclass(frozen=True)
class _Pending:
    source: str
    member: str
    future: Future  # -> (NewImage, preprocessed pixels), or None for a chip that is skipped
    replaces: bool = False  # the file held other content before


class IndexRun:
    """One pass over the inputs into ``store`` with ``encoder``."""

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
        progress_label: str = "indexing",
    ):
        self.store = store
        self.encoder = encoder
        self.batch_size = batch_size
        self.workers = workers
        self.max_pixels = max_pixels
        self.limits = limits or InputLimits()
        self.progress = progress
        self.progress_label = progress_label
        self.raster = raster or RasterOptions()
        self.prune = prune
        self.rehash = rehash
        self.changes: ChangeTracker | None = None
        self._recipe = raster_recipe(self.raster)
        self.report = IndexReport()
        self._hashes_this_run: set[str] = set()
        self._batch: list[tuple[NewImage, np.ndarray]] = []
        self._encoding: tuple[list[NewImage], Future] | None = None  # the batch in the model now
        self._encode_pool: ThreadPoolExecutor | None = None
        self._last_checkpoint = time.monotonic()
        self._checkpoint_interval = CHECKPOINT_SECONDS

    def run(self, paths: Iterable[str | Path]) -> IndexReport:
        started = time.monotonic()
        paths = list(paths)
        self.changes = ChangeTracker(self.store, rehash=self.rehash, prune_roots=paths if self.prune else None)
        self.store.calibrate_with(text_probe_vectors(self.encoder))  # in case the index type changes
        bar = tqdm(desc=self.progress_label, unit="img", disable=not self.progress, dynamic_ncols=True)
        window: deque[_Pending] = deque()
        with (
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decode") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as self._encode_pool,
        ):
            for entry in self._inputs(paths):
                if isinstance(entry, SourceFailure):
                    self.report.seen += 1  # seen = added + already indexed + duplicates + failed (+ nodata chips)
                    self._fail(entry.source, entry.member, entry.reason, entry.kind)
                    continue
                for pending in self._admit(entry, pool):
                    window.append(pending)
                    while len(window) > self.batch_size * 2:
                        self._collect(window.popleft(), bar)
            while window:
                self._collect(window.popleft(), bar)
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

    def _admit(self, entry: SourceItem | BandStack, pool: ThreadPoolExecutor) -> Iterator[_Pending]:
        """Read an input; queue a picture as one item, a raster scene as its chips."""
        previous = self.changes.previous(entry)
        skipped = self.changes.unchanged(entry, previous, self._recipe)
        if skipped:  # not even read
            self.report.seen += skipped
            self.report.unchanged += skipped
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
            yield from self._admit_chips(scene, pool, previous)
            return
        self.report.seen += 1
        sha256 = hashlib.sha256(data).hexdigest()
        placement = Placement(entry.source, entry.member, len(data), entry.mtime, sha256)
        self.changes.supersede(previous, self._recipe, {placement.part})
        recorded = {(loc.part, loc.sha256) for loc in previous}
        if self._known(placement, self.store.existing_sha256([sha256]), recorded):
            return
        future = pool.submit(self._decode, entry, sha256, data)
        yield _Pending(entry.source, entry.member, future, replaces=bool(previous))

    def _admit_chips(
        self, scene: Scene, pool: ThreadPoolExecutor, previous: list[RecordedLocation]
    ) -> Iterator[_Pending]:
        """Queue a scene's chips, planned and looked up a block at a time: memory stays flat
        however many chips the scene declares (open_scene refused more than --max-chips-per-scene)."""
        self.report.scenes += 1
        recorded = {(loc.part, loc.sha256) for loc in previous}
        parts_before = {loc.part for loc in previous}
        parts_still_cut: set[str] = set()
        for block in batched(plan_chips(scene, self.raster), CHIP_BLOCK):
            stored = self.store.existing_sha256([chip.sha256 for chip in block])
            for chip in block:
                placement = chip_placement(chip, self._recipe)
                if placement.part in parts_before:
                    parts_still_cut.add(placement.part)
                self.report.seen += 1
                if not self._known(placement, stored, recorded):
                    yield _Pending(scene.source, scene.name, pool.submit(self._decode_chip, chip), replaces=bool(previous))
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

    def _decode(self, item: SourceItem, sha256: str, data: bytes):
        decoded = decode_image(data, max_pixels=self.max_pixels)
        record = NewImage(
            source=item.source,
            member=item.member,
            sha256=sha256,
            byte_size=len(data),
            width=decoded.width,
            height=decoded.height,
            format=decoded.format,
            mtime=item.mtime,
        )
        return record, self.encoder.preprocess(decoded.image)

    def _decode_chip(self, chip: PlannedChip):
        result = read_chip_item(chip, self.raster.max_nodata)
        if result is None:
            return None
        record, rgb = result
        return record, self.encoder.preprocess(Image.fromarray(rgb, "RGB"))

    def _collect(self, pending: _Pending, bar: tqdm) -> None:
        try:
            result = pending.future.result()
        except DecodeError as exc:
            self._fail(pending.source, pending.member, str(exc), exc.kind)
            return
        except RasterError as exc:
            self._fail(pending.source, pending.member, str(exc), FailureKind.RASTER)
            return
        except Exception as exc:
            self._fail(pending.source, pending.member, f"{type(exc).__name__}: {exc}", FailureKind.CORRUPT_IMAGE)
            return
        if result is None:
            self.report.mostly_nodata += 1
            return
        self._batch.append(result)
        self.report.replaced += pending.replaces
        if len(self._batch) >= self.batch_size:
            self._flush()
        bar.update(1)

    def _flush(self, final: bool = False) -> None:
        """Store the batch the model has finished, then start it on this one."""
        self._store_encoded()
        if self._batch:
            records = [record for record, _ in self._batch]
            pixels = np.stack([pixels for _, pixels in self._batch])
            self._batch.clear()
            self._encoding = (records, self._encode_pool.submit(self.encoder.encode_pixels, pixels))
        if final:
            self._store_encoded()
        self.changes.flush(final)  # content still in the model is placed at a later flush
        if time.monotonic() - self._last_checkpoint > self._checkpoint_interval:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Save FAISS, then space the next save so saving stays a small share of the run."""
        started = time.monotonic()
        self.store.save()
        self._last_checkpoint = time.monotonic()
        took = self._last_checkpoint - started
        self._checkpoint_interval = max(CHECKPOINT_SECONDS, took / CHECKPOINT_COST_SHARE)

    def _store_encoded(self) -> None:
        """Wait for the batch in the model (an error there stops the run here) and store it."""
        if self._encoding is None:
            return
        (records, vectors), self._encoding = self._encoding, None
        self.store.add(records, vectors.result(), recipe=self._recipe)
        self.changes.stored(record.sha256 for record in records)
        self.report.added += len(records)
        kill_point("index.batch")

    def _fail(self, source: str, member: str, reason: str, kind: str = FailureKind.UNREADABLE) -> None:
        failure = Failure(source, member, reason, kind)
        self.report.failures.append(failure)
        self.changes.keep(source, member)
        log.info("skipped %s: %s", failure.name, reason)


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` items (the last shorter): itertools.batched, which Python 3.11 lacks."""
    items = iter(items)
    while block := list(islice(items, size)):
        yield block


def index_paths(paths: Iterable[str | Path], store: Store, encoder, **options) -> IndexReport:
    """Index ``paths`` into ``store``; options as :class:`IndexRun` (``prune``, ``rehash``...)."""
    return IndexRun(store, encoder, **options).run(paths)
