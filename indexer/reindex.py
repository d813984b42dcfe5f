"""Re-embed stored images from their files: a whole new generation (``rsclip reindex``),
or the vectors ``rsclip check --repair`` finds missing.

Each image is read again from where the catalog recorded it (an archive is read once,
front to back, for all its members), checked against its recorded sha256 so a file
that changed since is never embedded under the old content's id, then decoded,
embedded and committed in batches to the target generation. Batches are resumable:
an interrupted run leaves its committed batches, and the next one embeds only what
is still missing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.decode import DEFAULT_MAX_PIXELS, decode_image
from indexer.pipeline import Failure
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


def read_contents(store: Store, source: str, images: list[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes | str]]:
    """Each image's bytes, read again from its files, or why they could not be; lazily.

    The recorded location comes first; if it is gone or holds other content now, any
    other location of the same content is tried. A tar is read in one streaming pass
    (it cannot seek cheaply); folders and zips member by member.
    """
    by_member = {image.member: image for image in images}
    if archive_kind(Path(source)) == "tar":
        for entry in iter_sources([source]):
            image = by_member.pop(entry.member, None) if isinstance(entry, SourceItem) else None
            if image is not None:
                yield image, _verified(entry.read(), image.sha256) or _read_elsewhere(store, image) or _UNREADABLE
    for member, image in by_member.items():
        yield image, _read_verified(source, member, image.sha256) or _read_elsewhere(store, image) or _UNREADABLE


_UNREADABLE = "cannot read it from any of its files (gone, or changed since it was indexed)"


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


def embed_pending(
    store: Store,
    target: GenerationBuild,
    encoder,
    *,
    batch_size: int = 16,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> EmbedReport:
    """Give every image without a vector in ``target`` one, batch by committed batch.

    Decoding runs on worker threads a bounded window ahead of the model, as in an
    index run, so memory stays bounded however many images there are.
    """
    report = EmbedReport()
    started = time.monotonic()
    done, total = target.progress()
    bar = tqdm(desc="embedding", unit="img", total=total, initial=done, disable=not progress, dynamic_ncols=True)
    batch: list[tuple[ImageRecord, np.ndarray]] = []
    window: deque[tuple[ImageRecord, Future]] = deque()

    def prepare(data: bytes):
        return encoder.preprocess(decode_image(data, max_pixels=max_pixels).image)

    def commit() -> None:
        if batch:
            vectors = encoder.encode_pixels(np.stack([pixels for _, pixels in batch]))
            target.add([image.id for image, _ in batch], vectors)
            report.embedded += len(batch)
            bar.update(len(batch))
            batch.clear()

    def collect(image: ImageRecord, future: Future) -> None:
        try:
            batch.append((image, future.result()))
        except Exception as exc:  # report it and go on: one bad file must not stop the run
            report.failures.append(Failure(image.source, image.member, f"{type(exc).__name__}: {exc}"))
        if len(batch) >= batch_size:
            commit()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        for source in target.pending_sources():
            for image, data in read_contents(store, source, target.pending_images(source)):
                if isinstance(data, str):
                    report.failures.append(Failure(image.source, image.member, data))
                    continue
                window.append((image, pool.submit(prepare, data)))
                while len(window) > batch_size * 2:
                    collect(*window.popleft())
        while window:
            collect(*window.popleft())
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
