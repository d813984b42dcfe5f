"""bench/queries.py (``python -m bench --only queries``) runs end to end on a tiny scale.

The figures are not asserted (no timing in tests): that every step runs against the
store as it is today (vectors streamed from the vector file) and reports each figure is.
"""

from __future__ import annotations

from bench.queries import run_queries
from tests.conftest import noise_image


def test_the_query_bench_runs_on_a_small_index(tmp_path, encoder):
    images = []
    for seed in range(3):
        images.append(tmp_path / f"q{seed}.png")
        noise_image(seed).save(images[-1])
    result = run_queries(encoder, 400, images, 4)
    assert result.items == 400 and 0.0 <= result.text_recall <= 1.0 and 0.0 <= result.image_recall <= 1.0
    report = "\n".join(result.report())
    for figure in ("text query, new text", "text query, repeated text", "image query", "text encoding alone"):
        assert figure in report
