"""An index run over the whole hostile corpus: it completes, reports every bad input by name
with a kind, counts them, records them in the catalog, touches nothing outside the data
directory, and leaves what the index already held intact and searchable."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
from PIL import Image

from indexer import IndexRun
from service.searcher import Searcher, model_identity
from storage import Store
from tests.indexer.hostile import build_hostile_corpus, hostile_limits, snapshot


def _run(data_dir, encoder, inputs, **options):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        return IndexRun(store, encoder, progress=False, batch_size=8, **options).run(inputs)


def _stored(data_dir, encoder) -> set[tuple[str, str]]:
    with Store(data_dir) as store:
        hits = store.search(np.ones(encoder.spec.dimension), k=1000)[0]
        assert store.stats().items == store.stats().vectors == len(hits)
        return {(hit.image.source, hit.image.member) for hit in hits}


def test_hostile_corpus_run_reports_counts_records_and_keeps_the_index(tmp_path, encoder, mixed_corpus):
    clean_inputs, clean_expected = mixed_corpus
    data_dir = tmp_path / "data"
    _run(data_dir, encoder, clean_inputs)
    inputs, expected_failures, expected_indexed = build_hostile_corpus(tmp_path / "hostile-inputs")
    before = snapshot(tmp_path, skip=data_dir)

    report = _run(data_dir, encoder, inputs, limits=hostile_limits())

    assert {(f.source, f.member): f.kind for f in report.failures} == expected_failures
    assert all(f.reason for f in report.failures)
    assert report.added == len(expected_indexed)
    assert report.seen == report.added + report.already_indexed + report.duplicates + report.failed
    assert _stored(data_dir, encoder) == set(clean_expected) | expected_indexed
    assert snapshot(tmp_path, skip=data_dir) == before

    with Store(data_dir) as store:
        run = store.runs.last()
        kept = store.runs.failures(run.id)
        searcher = Searcher(store, encoder)
        for (source, member), data in clean_expected.items():
            top = searcher.search_image(Image.open(io.BytesIO(data)), k=1)[0]
            assert (top.image.source, top.image.member) == (source, member)
    assert run.failed == len(expected_failures)
    assert run.failures_by_kind == dict(Counter(expected_failures.values()))
    assert {(f.source, f.member): f.kind for f in kept} == expected_failures
    assert run.added == report.added and run.seen == report.seen


def test_every_failure_names_an_input_that_exists_in_the_report_order(tmp_path, encoder):
    inputs, _, _ = build_hostile_corpus(tmp_path / "in")
    report = _run(tmp_path / "data", encoder, inputs, limits=hostile_limits())
    names = [failure.name for failure in report.failures]
    assert len(names) == len(set(names))
    assert any(name.endswith("links.tar!sym.png") for name in names)
    assert any(name.endswith("hostile/fifo.png") for name in names)


def test_a_second_run_over_the_same_hostile_inputs_adds_nothing_and_fails_the_same(tmp_path, encoder):
    inputs, expected_failures, _ = build_hostile_corpus(tmp_path / "in")
    _run(tmp_path / "data", encoder, inputs, limits=hostile_limits())
    again = _run(tmp_path / "data", encoder, inputs, limits=hostile_limits())
    assert again.added == 0
    assert {(f.source, f.member): f.kind for f in again.failures} == expected_failures
    with Store(tmp_path / "data") as store:
        assert store.runs.count() == 2
