"""The memory budget picks the index: exact, IVF,SQfp16, or IVF+PQ re-ranked exactly from the
vector file on disk; the collection moves between them as it grows and shrinks, scores stay
true cosines, deletions work at each type, and a build killed half-way loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from storage import IndexPolicy, Store
from storage.check import check_store
from storage.index_policy import EXACT_INDEX
from storage.killpoints import ENV_KILL_AT
from storage.records import ModelIdentity
from storage.vector_file import stored_form
from tests.storage.test_index_types import DIM, clustered_vectors, new_images

# 32-d vectors: exact up to 1,000; IVF,SQfp16 while it fits 200 kB (about 1,500 vectors); IVF,PQ16x4fs
# (8 bytes a vector) above.
BUDGET_POLICY = IndexPolicy(
    exact_max_bytes=1000 * DIM * 4, memory_budget=200_000, cell_size=64, pq_cell_size=128, max_cell_size=256,
    probe_queries=100, pq_bytes=(8,), max_rerank=256,
)
MODEL = ModelIdentity("test-model", "f" * 16, DIM)
REPO_ROOT = Path(__file__).resolve().parents[2]


def grown_store(data_dir, counts: list[int], policy: IndexPolicy = BUDGET_POLICY) -> tuple[Store, np.ndarray, list[int]]:
    """A store filled in steps (saved after each), as index runs would fill it."""
    store = Store(data_dir, writable=True, index_policy=policy)
    store.bind_model(MODEL)
    vectors = clustered_vectors(max(counts))
    ids: list[int] = []
    for count in counts:
        ids += store.add(new_images(count - len(ids), len(ids)), vectors[len(ids) : count])
        store.save()
    return store, vectors, ids


def test_the_budget_picks_exact_then_sqfp16_then_pq_as_the_collection_grows(tmp_path):
    store, _, _ = grown_store(tmp_path, [600])
    seen = [store.stats().index_type]
    for count in (1500, 3000):
        more = clustered_vectors(count - store._vectors.count, seed=count)
        store.add(new_images(len(more), start=10_000 + count), more)
        store.save()
        seen.append(store.stats().index_type)
    store.close()
    assert seen[0] == EXACT_INDEX and seen[1].endswith(",SQfp16") and seen[2].endswith(",PQ16x4fs")
    with Store(tmp_path) as reader:  # what `rsclip stats` shows, read back
        stats = reader.stats()
    assert stats.index_build.rerank >= BUDGET_POLICY.min_rerank
    assert stats.index_build.recall_at_10 >= BUDGET_POLICY.target_recall
    assert stats.index_build.text_recall_at_10 >= BUDGET_POLICY.target_recall
    assert stats.index_build.memory_budget == 200_000 and stats.index_memory <= stats.memory_budget


@pytest.mark.parametrize("fast_scan", [True, False], ids=["4-bit fast scan", "8-bit"])
def test_pq_scores_are_true_cosines_after_exact_reranking(tmp_path, fast_scan):
    policy = replace(BUDGET_POLICY, fast_scan=fast_scan)  # 8-bit: what stores built before fast scan hold
    store, vectors, ids = grown_store(tmp_path, [3000], policy)
    with store:
        assert store.stats().index_type.endswith("PQ16x4fs" if fast_scan else "PQ8")
        gone = ids[:3]
        store.forget([store.locations_of(image_id)[0].id for image_id in gone])
        store.save()
        query = clustered_vectors(1, seed=77)[0]
        hits = store.search(query, k=10)[0]
    stored = stored_form(vectors)
    for hit in hits:
        assert hit.score == pytest.approx(float(stored[ids.index(hit.image.id)] @ query), abs=1e-5)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    kept = np.array([image_id not in gone for image_id in ids])
    assert hits[0].image.id == np.array(ids)[kept][int(np.argmax(stored[kept] @ query))]


@pytest.mark.parametrize("count", [600, 1500, 3000], ids=["exact", "sqfp16", "pq"])
def test_deleted_and_replaced_items_leave_every_index_type(tmp_path, count):
    store, vectors, ids = grown_store(tmp_path, [count])
    with store:
        gone = ids[:5]
        store.forget([store.locations_of(image_id)[0].id for image_id in gone])
        replacement = clustered_vectors(1, seed=123)
        [new_id] = store.add(new_images(1, start=50_000), replacement)
        store.save()
        found = store.search(vectors[:5], k=3)
        assert not {hit.image.id for row in found for hit in row} & set(gone)
        assert store.search(replacement[0], k=1)[0][0].image.id == new_id
        assert store.vector(gone[0]) is None
        np.testing.assert_allclose(store.vector(new_id), replacement[0], atol=1e-3)
        assert check_store(store).ok


def test_a_shrunk_pq_collection_goes_back_to_exact_search(tmp_path):
    store, _, ids = grown_store(tmp_path, [3000])
    with store:
        store.forget([store.locations_of(image_id)[0].id for image_id in ids[:2400]])
        store.save()
        assert store.stats().index_type == EXACT_INDEX  # 600 left: even twice that fits in SQfp16, and 600 exact
        assert sorted(store._vectors.ids().tolist()) == ids[2400:]


def test_a_build_killed_half_way_loses_nothing_and_the_next_open_finishes_it(tmp_path):
    data_dir = tmp_path / "data"
    store, vectors, ids = grown_store(data_dir, [1500])
    store.close()
    script = textwrap.dedent(f"""
        import numpy as np
        from storage import IndexPolicy, Store
        from tests.storage.test_index_types import clustered_vectors, new_images
        from tests.storage.test_memory_budget import BUDGET_POLICY
        with Store({str(data_dir)!r}, writable=True, index_policy=BUDGET_POLICY) as store:
            store.add(new_images(1500, 1500), clustered_vectors(3000)[1500:])
            store.save()  # grows into PQ: killed while the new index is being filled
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), ENV_KILL_AT: "vectors.build:1"}
    child = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with Store(data_dir, writable=True, index_policy=BUDGET_POLICY) as store:
        assert store.count() == 3000  # the batch was committed before the build began
        store.save()
        assert store.stats().index_type.endswith("PQ16x4fs")
        assert check_store(store).ok
        assert store.search(clustered_vectors(3000)[2500], k=1)[0][0].image.id == 2501


def test_pq_codes_are_as_precise_as_the_budget_allows():
    """256-byte codes where they fit (1024-d: 4 dimensions a byte, as 512 4-bit sub-quantizers), smaller
    ones as the budget tightens."""
    vectors, dimension = 10_000_000, 1024
    assert IndexPolicy(memory_budget=3 * 10**9).index_type_for(vectors, dimension) == "IVF4096,PQ512x4fs"
    assert IndexPolicy(memory_budget=2 * 10**9).index_type_for(vectors, dimension) == "IVF4096,PQ256x4fs"
    assert IndexPolicy(memory_budget=10**9).index_type_for(vectors, dimension) == "IVF4096,PQ128x4fs"
    eight_bit = IndexPolicy(memory_budget=3 * 10**9, fast_scan=False)  # one 8-bit sub-quantizer a byte
    assert eight_bit.index_type_for(vectors, dimension) == "IVF4096,PQ256"
