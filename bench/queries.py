"""Query latency end to end at a realistic index size, with the real (large) encoder.

The collection is synthetic for size (vectors clustered around real image vectors of
the large random model, records like an archive's), the encoder is real:

- text query: the HTTP API's ``POST /search/text`` (JSON in, tokenise, text tower,
  FAISS, SQLite metadata, JSON out);
- image query: ``POST /search/image`` (multipart upload, decode, preprocess, image
  tower, FAISS, metadata, JSON).

The app is called in process (Starlette's TestClient: the whole ASGI stack, no socket).
Without the API package the same queries go through ``Searcher`` (said in the output).

Also: recall@10 of the index the store chose against exact search, for real text
vectors and real image vectors as queries (text must not lose more than images).
"""

from __future__ import annotations

import io
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import Latency, section, settle, time_calls
from bench.synthetic import ClusteredVectors

QUERIES = (
    "many small boats moored along a concrete pier",
    "a parking lot full of cars next to a stadium",
    "terraced rice paddies on a hillside",
    "an oil refinery with round storage tanks",
    "a meandering river with sandbars",
    "a golf course with bunkers and a pond",
    "center pivot irrigation circles in a dry plain",
    "a railway station with several parallel tracks",
    "sparse shrubs on bare brown soil",
    "a suburban street lined with detached houses and pools",
    "a container port with cranes and stacked containers",
    "a small island surrounded by turquoise water",
)


@dataclass
class QueryResult:
    items: int
    index_type: str
    build_seconds: float
    nprobe: int | None
    text: Latency  # a text not asked before: the text tower runs
    text_repeated: Latency  # a text asked before ("More results", another user): the vector is cached
    text_encode: Latency
    image: Latency
    text_path: str
    image_path: str
    search_only: Latency
    exact_search_only: Latency
    text_recall: float
    image_recall: float

    def report(self) -> list[str]:
        return [
            f"index at {self.items:,} items: {self.index_type}, nprobe {self.nprobe}, built in {self.build_seconds:.1f} s",
            f"text query, new text ({self.text_path}): {self.text}  (target p50 < 80 ms)",
            f"text query, repeated text       : {self.text_repeated}  (its vector cached)",
            f"  text encoding alone          : {self.text_encode}",
            f"image query ({self.image_path}): {self.image}  (target p50 < 300 ms)",
            f"vector search alone            : {self.search_only}",
            f"exact search alone (same size) : {self.exact_search_only}",
            f"recall@10 vs exact, real text queries {self.text_recall:.3f}, real image queries {self.image_recall:.3f}",
        ]


def _fill_store(store, encoder, items: int, anchors: np.ndarray) -> None:
    from service.searcher import model_identity
    from storage import NewImage

    store.bind_model(model_identity(encoder))
    vectors = ClusteredVectors(encoder.spec.dimension, seed=1, anchors=anchors)
    start = 0
    for chunk in vectors.chunks(items, chunk=5000):
        records = [
            NewImage(
                source="/archive/scenes.tar", member=f"tile_{i:07d}.tif", sha256=f"{i:064x}",
                byte_size=196_000, width=256, height=256, format="TIFF",
            )
            for i in range(start, start + len(chunk))
        ]
        store.add(records, chunk)
        start += len(chunk)


def _api_client(data_dir: Path, encoder):
    """A client of the real app (in-process ASGI, no socket), or None where the API is not installed."""
    try:
        from fastapi.testclient import TestClient

        from search_api.app import create_app
        from search_api.settings import ApiSettings
    except ImportError:
        return None
    return TestClient(create_app(ApiSettings(data_dir=data_dir, allowed_hosts=("testserver",)), encoder=encoder))


def _image_query(client, searcher, uploads: list[bytes]):
    """(callable for one image query, how it is measured)."""
    if client is None:
        from indexer import decode_image

        def through_searcher(i: int):
            return searcher.search_image(decode_image(uploads[i % len(uploads)]).image, k=10)

        return through_searcher, "Searcher, no HTTP"

    def through_api(i: int):
        files = {"file": ("query.jpg", uploads[i % len(uploads)], "image/jpeg")}
        client.post("/search/image", data={"k": "10"}, files=files).raise_for_status()

    return through_api, "POST /search/image"


def _text_query(client, searcher, new_texts: bool):
    """One text query by number ``i``: with ``new_texts`` each call asks a text never asked before
    (so the text tower runs, as for a user's first query), else the same few texts again."""
    run = uuid.uuid4().hex[:8]

    def text(i: int) -> str:
        return f"{QUERIES[i % len(QUERIES)]} ({run}-{i})" if new_texts else QUERIES[i % len(QUERIES)]

    if client is None:
        return (lambda i: searcher.search_text(text(i), k=10)), "Searcher, no HTTP"

    def through_api(i: int):
        client.post("/search/text", json={"query": text(i), "k": 10}).raise_for_status()

    return through_api, "POST /search/text"


def _recall(store, queries: np.ndarray) -> float:
    from storage.index_policy import exact_neighbours, recall_at_k

    truth = exact_neighbours(queries, store.iter_vectors(), 10)[1]
    found = store._vectors.search(queries, 10)[1]
    return recall_at_k(found, truth)


def run_queries(encoder, items: int, query_images: list[Path], calls: int) -> QueryResult:
    from indexer import decode_image
    from indexer.probes import text_probe_vectors
    from service.searcher import Searcher
    from storage import Store
    from storage.vectors import VectorIndex

    section(f"queries: {items:,}-item index, real encoder ({encoder.precision} on {encoder.device})")
    encoder.prepare_for_queries()  # as `rsclip serve` does at start-up
    uploads = [_as_jpeg(path) for path in query_images]
    image_vectors = encoder.encode_images([decode_image(data).image for data in uploads])
    text_vectors = encoder.encode_texts(list(QUERIES))
    with tempfile.TemporaryDirectory(prefix="rsclip-bench-") as workdir:
        data_dir = Path(workdir)
        started = time.perf_counter()
        with Store(data_dir, writable=True) as store:
            store.calibrate_with(text_probe_vectors(encoder))  # as the indexer does
            _fill_store(store, encoder, items, anchors=image_vectors)
            filled = time.perf_counter() - started
            store.save()  # the store picks the index type for this size here
        print(f"stored {items:,} items in {filled:.0f} s, index built in {time.perf_counter() - started - filled:.1f} s", flush=True)
        with Store(data_dir) as store:
            stats = store.stats()
            searcher = Searcher(store, encoder)
            client = _api_client(data_dir, encoder)
            settle()
            text_call, text_path = _text_query(client, searcher, new_texts=True)
            repeated_call, _ = _text_query(client, searcher, new_texts=False)
            image_call, image_path = _image_query(client, searcher, uploads)
            for i in range(len(QUERIES)):  # each repeated text asked once before: its vector is in the cache
                repeated_call(i)
            # Interleaved in rounds: the machine is shared, so load hits every kind alike.
            text, text_repeated, image, text_encode = Latency(), Latency(), Latency(), Latency()
            for _ in range(2):
                text.seconds += time_calls(text_call, calls // 2).seconds
                text_repeated.seconds += time_calls(repeated_call, calls // 2).seconds
                image.seconds += time_calls(image_call, calls // 2).seconds
                text_encode.seconds += time_calls(lambda i: encoder.encode_texts([QUERIES[i % len(QUERIES)]]), calls // 2).seconds
            search_only = time_calls(lambda i: store.search(text_vectors[i % len(text_vectors)], k=10), calls * 2)
            text_recall, image_recall = _recall(store, text_vectors), _recall(store, image_vectors)
            exact = VectorIndex.create(encoder.spec.dimension)
            for ids, vectors in store.iter_vectors():
                exact.add(ids, vectors)
            exact_only = time_calls(lambda i: exact.search(text_vectors[i % len(text_vectors)], 10), calls)
    build = stats.index_build
    return QueryResult(
        items=items,
        index_type=stats.index_type,
        build_seconds=build.seconds if build else 0.0,
        nprobe=build.nprobe if build else None,
        text=text,
        text_repeated=text_repeated,
        text_encode=text_encode,
        image=image,
        text_path=text_path,
        image_path=image_path,
        search_only=search_only,
        exact_search_only=exact_only,
        text_recall=text_recall,
        image_recall=image_recall,
    )


def _as_jpeg(path: Path) -> bytes:
    """A query photo as a user would upload it."""
    from PIL import Image

    with Image.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
