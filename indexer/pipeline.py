"""An index run: sources -> decode -> encode -> store, with a report of what happened.

Reading happens on the calling thread (tar streams must be read in order); decoding
and preprocessing run on worker threads, a bounded window ahead of the model, so
memory stays bounded however large the archive. Identical content is stored once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.decode import DEFAULT_MAX_PIXELS, DecodeError, decode_image
from indexer.limits import FailureKind, InputLimits, InputRefused
from indexer.report import record_run
from indexer.sources import SourceFailure, SourceItem, iter_sources, location
from storage import NewImage, Store

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 30.0


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
    already_indexed: int = 0
    duplicates: int = 0
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
    item: SourceItem
    sha256: str
    byte_size: int
    future: Future  # -> (NewImage fields, preprocessed pixels)


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
    ):
        self.store = store
        self.encoder = encoder
        self.batch_size = batch_size
        self.workers = workers
        self.max_pixels = max_pixels
        self.limits = limits or InputLimits()
        self.progress = progress
        self.report = IndexReport()
        self._hashes_this_run: set[str] = set()
        self._batch: list[tuple[NewImage, np.ndarray]] = []
        self._last_checkpoint = time.monotonic()

    def run(self, paths: Iterable[str | Path]) -> IndexReport:
        started = time.monotonic()
        paths = list(paths)
        bar = tqdm(desc="indexing", unit="img", disable=not self.progress, dynamic_ncols=True)
        window: deque[_Pending] = deque()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decode") as pool:
            for entry in iter_sources(paths, self.limits):
                if isinstance(entry, SourceFailure):
                    self.report.seen += 1  # so that seen = added + already indexed + duplicates + failed
                    self._fail(entry.source, entry.member, entry.reason, entry.kind)
                    continue
                pending = self._admit(entry, pool)
                if pending is not None:
                    window.append(pending)
                while len(window) > self.batch_size * 2:
                    self._collect(window.popleft(), bar)
            while window:
                self._collect(window.popleft(), bar)
        self._flush()
        self.store.save()
        bar.close()
        self.report.seconds = time.monotonic() - started
        record_run(self.store, self.report, paths)
        return self.report

    def _admit(self, item: SourceItem, pool: ThreadPoolExecutor) -> _Pending | None:
        """Read the bytes, drop what is already stored, queue the rest for decoding."""
        self.report.seen += 1
        try:
            data = item.read()
        except InputRefused as refused:
            self._fail(item.source, item.member, refused.reason, refused.kind)
            return None
        except Exception as exc:  # a member that cannot be read must not stop the run
            self._fail(item.source, item.member, f"cannot read: {exc}")
            return None
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 in self._hashes_this_run:
            self.report.duplicates += 1
            return None
        self._hashes_this_run.add(sha256)
        if self.store.existing_sha256([sha256]):
            self.report.already_indexed += 1
            return None
        return _Pending(item, sha256, len(data), pool.submit(self._decode, data))

    def _decode(self, data: bytes):
        decoded = decode_image(data, max_pixels=self.max_pixels)
        return decoded, self.encoder.preprocess(decoded.image)

    def _collect(self, pending: _Pending, bar: tqdm) -> None:
        item = pending.item
        try:
            decoded, pixels = pending.future.result()
        except DecodeError as exc:
            self._fail(item.source, item.member, str(exc), exc.kind)
            return
        except Exception as exc:
            self._fail(item.source, item.member, f"{type(exc).__name__}: {exc}", FailureKind.CORRUPT_IMAGE)
            return
        record = NewImage(
            source=item.source,
            member=item.member,
            sha256=pending.sha256,
            byte_size=pending.byte_size,
            width=decoded.width,
            height=decoded.height,
            format=decoded.format,
            mtime=item.mtime,
        )
        self._batch.append((record, pixels))
        if len(self._batch) >= self.batch_size:
            self._flush()
        bar.update(1)

    def _flush(self) -> None:
        if not self._batch:
            return
        records = [record for record, _ in self._batch]
        vectors = self.encoder.encode_pixels(np.stack([pixels for _, pixels in self._batch]))
        self.store.add(records, vectors)
        self.report.added += len(records)
        self._batch.clear()
        if time.monotonic() - self._last_checkpoint > CHECKPOINT_SECONDS:
            self.store.save()
            self._last_checkpoint = time.monotonic()

    def _fail(self, source: str, member: str, reason: str, kind: str = FailureKind.UNREADABLE) -> None:
        failure = Failure(source, member, reason, kind)
        self.report.failures.append(failure)
        log.info("skipped %s: %s", failure.name, reason)


def index_paths(paths: Iterable[str | Path], store: Store, encoder, **options) -> IndexReport:
    return IndexRun(store, encoder, **options).run(paths)
