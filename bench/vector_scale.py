"""The vector index alone at archive scale: a million 1024-d vectors (4 GB as float32).

Exact search is timed first (one query at a time, as a user's query arrives), and gives
the ground truth; then the store's own rebuild turns the index into what its policy
picks for this size, and that is timed, searched and scored: recall@10 against exact
for image-like queries (fresh points of the collection's distribution) and text-like
ones (far from any stored vector and leaning towards a shared direction: the modality
gap), neither of them the probe queries the build calibrated itself on.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import numpy as np

from bench.common import Latency, section, settle, time_calls
from bench.synthetic import ClusteredVectors


@dataclass
class ScaleResult:
    vectors: int
    dimension: int
    fill_seconds: float
    exact: Latency
    index_type: str
    build_seconds: float
    nprobe: int | None
    calibrated_recall: tuple[float | None, float | None]
    approximate: Latency
    image_recall: float
    text_recall: float

    def report(self) -> list[str]:
        image, text = self.calibrated_recall
        return [
            f"{self.vectors:,} x {self.dimension} vectors (clustered synthetic), filled in {self.fill_seconds:.0f} s",
            f"exact search                   : {self.exact}",
            f"{self.index_type} (nprobe {self.nprobe}) built in {self.build_seconds:.1f} s "
            f"(train, add, calibrate; recall at build {image:.3f} image-like, {text:.3f} text-like)",
            f"approximate search             : {self.approximate}  (target p50 < 10 ms)",
            f"recall@10 vs exact, fresh queries: image-like {self.image_recall:.3f}, text-like {self.text_recall:.3f}"
            "  (target >= 0.95)",
        ]


def run_vector_scale(count: int, dimension: int = 1024, queries: int = 200, exact_calls: int = 10) -> ScaleResult:
    from storage.index_policy import IndexPolicy, exact_neighbours, probe_queries, recall_at_k
    from storage.vectors import VectorIndex

    section(f"vector index: {count:,} x {dimension}")
    generator = ClusteredVectors(dimension, seed=2)
    started = time.perf_counter()
    index = VectorIndex.create(dimension)
    start = 0
    for chunk in generator.chunks(count):
        index.add(np.arange(start, start + len(chunk)), chunk)
        start += len(chunk)
    fill_seconds = time.perf_counter() - started
    print(f"filled in {fill_seconds:.0f} s", flush=True)

    image_like = generator.sample(queries, seed=10**9)
    text_like = probe_queries(generator.sample(queries, seed=10**9 + 1), seed=12345).text_like
    settle()
    exact = time_calls(lambda i: index.search(image_like[i % queries], 10), exact_calls, warmup=1)
    print(f"exact: {exact}", flush=True)
    truth_image = exact_neighbours(image_like, index.iter_chunks(), 10)[1]
    truth_text = exact_neighbours(text_like, index.iter_chunks(), 10)[1]

    policy = IndexPolicy()
    plan = policy.plan(index.count, dimension, None)
    if plan is None:
        build = None
        print("the policy keeps exact search at this size", flush=True)
    else:
        index, build = index.rebuilt(plan, policy)  # the exact index is dropped here
        print(f"built {build}", flush=True)
    gc.collect()
    settle()
    approximate = time_calls(lambda i: index.search(image_like[i % queries], 10), queries, warmup=5)
    result = ScaleResult(
        vectors=count,
        dimension=dimension,
        fill_seconds=fill_seconds,
        exact=exact,
        index_type=index.index_type,
        build_seconds=build.seconds if build else 0.0,
        nprobe=index.nprobe,
        calibrated_recall=(build.recall_at_10, build.text_recall_at_10) if build and not build.exact else (1.0, 1.0),
        approximate=approximate,
        image_recall=recall_at_k(index.search(image_like, 10)[1], truth_image),
        text_recall=recall_at_k(index.search(text_like, 10)[1], truth_text),
    )
    del index
    gc.collect()
    return result
