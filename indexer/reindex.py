"""Re-embed stored images from their files: a whole new generation (``rsclip reindex``),
or the vectors ``rsclip check --repair`` finds missing.

Each image is read again from where the catalog recorded it (an archive is read once,
front to back, for all its members), checked against its recorded sha256 so a file
that changed since is never embedded under the old content's id (a raster chip is
rendered again from its scene's window, if the scene's files are unchanged), then
decoded, embedded and committed in batches to the target generation. Batches are resumable:
an interrupted run leaves its committed batches, and the next one embeds only what
is still missing.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from indexer.probes import text_probe_vectors
from indexer.chips import render_chip
from indexer.decode import DEFAULT_MAX_PIXELS, decode_image
from indexer.executors import Embedded, Executor, ThreadExecutor
from indexer.pipeline import Failure
from indexer.archives import _zip_mtime
from indexer.work import StoredWork
from indexer.sources import MemberNotFoundError, SourceItem, archive_kind, iter_sources, read_member
from storage import ImageRecord, ModelIdentity, Store
from storage.generations import GenerationBuild

log = logging.getLogger(__name__)


@dataclass
class EmbedReport:
    embedded: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ReindexReport:
    generation_id: int
    model: ModelIdentity
    resumed_with: int  # images that already had a vector in this generation when the run began
    total: int
    embedded: int
    failures: list[Failure]
    switched: bool
    seconds: float


Loader = Callable[[], Image.Image]  # runs on a worker thread


def stored_images(
    store: Store, source: str, images: list[ImageRecord], max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[tuple[ImageRecord, Loader | str]]:
    """For each image, what gives its picture again, or why it cannot be had; lazily.

    A picture's bytes are read here (a tar in one streaming pass, since it cannot seek
    cheaply; folders and zips member by member) and must still hash to the recorded
    sha256; if its recorded file is gone or changed, any other file holding the same
    content is tried. A raster chip is rendered again from its scene's window on the
    worker, provided the scene's files still have the size and mtime recorded.
    """
    pictures = {image.member: image for image in images if image.geo is None}
    if archive_kind(Path(source)) == "tar" and pictures:
        for entry in iter_sources([source]):
            image = pictures.pop(entry.member, None) if isinstance(entry, SourceItem) else None
            if image is not None:
                data = _verified(entry.read(), image.sha256) or _read_elsewhere(store, image)
                yield image, _decoder(data, max_pixels) if data else _UNREADABLE
    for member, image in pictures.items():
        data = _read_verified(source, member, image.sha256) or _read_elsewhere(store, image)
        yield image, _decoder(data, max_pixels) if data else _UNREADABLE
    scene_states: dict[tuple[str, ...], tuple[int, float | None] | None] = {}
    for image in images:
        if image.geo is not None:
            yield image, (lambda image=image: render_chip(image)) if _scene_unchanged(store, image, scene_states) \
                else _SCENE_CHANGED


_UNREADABLE = "cannot read it from any of its files (gone, or changed since it was indexed)"
_SCENE_CHANGED = "its scene file is gone or changed since it was indexed: run `rsclip index` on it"


def _decoder(data: bytes, max_pixels: int) -> Loader:
    return lambda: decode_image(data, max_pixels=max_pixels).image


def _verified(data: bytes, sha256: str) -> bytes | None:
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _read_verified(source: str, member: str, sha256: str) -> bytes | None:
    try:
        return _verified(read_member(source, member), sha256)
    except MemberNotFoundError:
        return None


def _read_elsewhere(store: Store, image: ImageRecord) -> bytes | None:
    for place in store.locations_of(image.id):
        if (place.source, place.member) != (image.source, image.member):
            data = _read_verified(place.source, place.member, image.sha256)
            if data is not None:
                return data
    return None


def _scene_unchanged(store: Store, image: ImageRecord, known: dict) -> bool:
    """The chip's scene files (all bands of a stack) have the size and mtime recorded for it."""
    files = tuple(sorted({member for member, _band in image.geo.layers}))
    key = (image.source, *files)
    if key not in known:
        known[key] = _files_state(image.source, files)
    state = known[key]
    return state is not None and any((loc.byte_size, loc.mtime) == state for loc in store.locations_of(image.id))


def _files_state(source: str, members: tuple[str, ...]) -> tuple[int, float | None] | None:
    """(total size, newest mtime) of members of a folder or archive, as an index run records them."""
    path = Path(source)
    kind = archive_kind(path)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                infos = [archive.getinfo(member) for member in members]
            states = [(info.file_size, _zip_mtime(info)) for info in infos]
        elif kind == "tar":
            with tarfile.open(path, mode="r:*") as archive:
                states = [(info.size, float(info.mtime)) for info in map(archive.getmember, members)]
        else:
            states = [(stat.st_size, stat.st_mtime) for stat in ((path / member).stat() for member in members)]
    except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    mtimes = [mtime for _size, mtime in states if mtime is not None]
    return sum(size for size, _mtime in states), max(mtimes) if mtimes else None


def embed_pending(
    store: Store,
    target: GenerationBuild,
    encoder,
    *,
    batch_size: int = 16,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
    executor: Executor | None = None,
) -> EmbedReport:
    """Give every image without a vector in ``target`` one, batch by committed batch.

    Decoding and embedding run in ``executor`` (threads on this machine unless a Ray
    executor is given), a bounded window ahead of the store, so memory stays bounded
    however many images there are.
    """
    report = EmbedReport()
    started = time.monotonic()
    done, total = target.progress()
    bar = tqdm(desc="embedding", unit="img", total=total, initial=done, disable=not progress, dynamic_ncols=True)
    executor = executor or ThreadExecutor(encoder, batch_size=batch_size, workers=workers)
    batch: list[tuple[int, np.ndarray]] = []

    def commit() -> None:
        if batch:
            target.add([image_id for image_id, _ in batch], np.stack([vector for _, vector in batch]))
            report.embedded += len(batch)
            bar.update(len(batch))
            batch.clear()

    def units() -> Iterator[StoredWork]:
        for source in target.pending_sources():
            for image, load in stored_images(store, source, target.pending_images(source), max_pixels):
                if isinstance(load, str):
                    report.failures.append(Failure(image.source, image.member, load))
                else:
                    yield StoredWork(image, load)

    for outcome in executor.run(units()):
        if isinstance(outcome, Embedded):
            batch.append((outcome.record.id, outcome.vector))
        else:  # report it and go on: one bad file must not stop the run
            report.failures.append(Failure(outcome.work.source, outcome.work.member, outcome.reason))
        if len(batch) >= batch_size:
            commit()
    commit()
    bar.close()
    for failure in report.failures:
        log.warning("not re-embedded %s: %s", failure.name, failure.reason)
    report.seconds = time.monotonic() - started
    return report


def reindex(
    store: Store, encoder, model: ModelIdentity, *, keep: bool = False, **options
) -> ReindexReport:
    """Embed every image with ``encoder`` into a new generation, then switch to it.

    Resumes an interrupted reindex to the same model. If any image cannot be read, the
    switch is not made: the old generation stays in service and a later run resumes.
    """
    build = store.begin_generation(model)
    resumed_with, total = build.progress()
    embedded = embed_pending(store, build, encoder, **options)
    switched = not embedded.failures
    if switched:
        store.calibrate_with(text_probe_vectors(encoder))  # the new model's text queries
        build.switch(keep=keep)
    return ReindexReport(
        generation_id=build.id,
        model=model,
        resumed_with=resumed_with,
        total=total,
        embedded=embedded.embedded,
        failures=embedded.failures,
        switched=switched,
        seconds=embedded.seconds,
    )
