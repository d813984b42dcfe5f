"""Executors: where work units are prepared and embedded. One interface, two engines.

An executor takes the driver's work units in order (``indexer.work``) and yields an
outcome for each: the unit's record and vector, a chip skipped as mostly nodata, or a
failure with a reason and a kind. The driver stores what comes back in committed batches
(``indexer.pipeline``); it does not care where the work ran.

- :class:`ThreadExecutor` (the default): decoding on worker threads a bounded window
  ahead of the model, the model on a thread of its own, a batch at a time, so the model
  never waits for decoding while the calling thread stores the previous batch.
- ``indexer.ray_executor.RayExecutor``: the same steps on a Ray cluster (``--ray``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from indexer.work import PrepareOptions, Work, failure_of, prepare


@dataclass(frozen=True)
class Embedded:
    work: Work
    record: object  # storage.NewImage (index) or storage.ImageRecord (reindex)
    vector: np.ndarray


@dataclass(frozen=True)
class Skipped:
    """A chip with too little data to be worth an item."""

    work: Work


@dataclass(frozen=True)
class Failed:
    work: Work
    reason: str
    kind: str


Outcome = Embedded | Skipped | Failed


class Executor(Protocol):
    def run(self, units: Iterable[Work]) -> Iterator[Outcome]:
        """An outcome per unit. ``units`` is consumed lazily: the driver decides as it is pulled."""


class ThreadExecutor:
    """Prepare on ``workers`` threads, embed ``batch_size`` at a time on one model thread."""

    def __init__(self, encoder, *, batch_size: int = 16, workers: int = 2, options: PrepareOptions | None = None):
        self.encoder = encoder
        self.batch_size = batch_size
        self.workers = workers
        self.options = options or PrepareOptions()

    def run(self, units: Iterable[Work]) -> Iterator[Outcome]:
        window: deque[tuple[Work, Future]] = deque()
        batch: list[tuple[Work, object, np.ndarray]] = []
        encoding: list = []  # the batch in the model now: [(units and records, future vectors)]
        with (
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decode") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as model,
        ):
            def collect(work: Work, future: Future) -> Iterator[Outcome]:
                try:
                    result = future.result()
                except Exception as exc:  # one bad input must not stop the run
                    yield Failed(work, *failure_of(exc))
                    return
                if result is None:
                    yield Skipped(work)
                    return
                batch.append((work, *result))
                if len(batch) >= self.batch_size:
                    yield from embed()

            def embed() -> Iterator[Outcome]:
                """Start the model on this batch, then hand back the one it finished."""
                yield from finished()
                if batch:
                    pixels = np.stack([pixels for _, _, pixels in batch])
                    done = [(work, record) for work, record, _ in batch]
                    encoding.append((done, model.submit(self.encoder.encode_pixels, pixels)))
                    batch.clear()

            def finished() -> Iterator[Outcome]:
                while encoding:  # an error in the model stops the run here
                    done, vectors = encoding.pop()
                    for (work, record), vector in zip(done, vectors.result()):
                        yield Embedded(work, record, vector)

            for work in units:
                window.append((work, pool.submit(prepare, work, self.encoder.preprocess, self.options)))
                while len(window) > self.batch_size * 2:
                    yield from collect(*window.popleft())
            while window:
                yield from collect(*window.popleft())
            yield from embed()
            yield from finished()
