"""Reindex: every image embedded again from its files into a new generation, then one switch."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from indexer import IndexRun
from indexer.reindex import reindex
from service.searcher import Searcher, model_identity
from storage import Store
from storage.check import check_store
from storage.generations import list_generations
from tests.conftest import noise_image

pytestmark = pytest.mark.both_catalogs


@pytest.fixture(scope="module")
def other_encoder(tmp_path_factory):
    """A second model with another embedding size (32-d instead of 64-d)."""
    from encoder import load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip

    return load_encoder(str(build_tiny_siglip(tmp_path_factory.mktemp("m") / "tiny-32", hidden_size=32, seed=7)))


@pytest.fixture
def indexed(tmp_path, encoder, mixed_corpus):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "data"
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, progress=False).run(inputs)
    return data_dir, inputs, expected


def run_reindex(data_dir, encoder, **options):
    with Store(data_dir, writable=True) as store:
        return reindex(store, encoder, model_identity(encoder), progress=False, batch_size=2, **options)


def test_reindex_with_a_model_of_another_dimension_switches_every_image_to_it(indexed, encoder, other_encoder):
    data_dir, _, expected = indexed
    report = run_reindex(data_dir, other_encoder)
    assert report.switched and report.embedded == report.total == len(expected)
    with Store(data_dir) as store:
        assert store.model == model_identity(other_encoder)
        assert store.stats().vectors == len(expected)
        searcher = Searcher(store, other_encoder)
        for (source, member), data in expected.items():
            from PIL import Image

            top = searcher.search_image(Image.open(io.BytesIO(data)), k=1)[0]
            assert (top.image.source, top.image.member, round(top.score, 2)) == (source, member, 1.0)  # fp16 stored
        assert check_store(store).ok
    assert [path.name for path in data_dir.glob("vectors-g*.faiss")] == [f"vectors-g{report.generation_id}.faiss"]
    assert [g.id for g in list_generations(Store(data_dir))] == [report.generation_id]


def test_keep_leaves_the_old_generation_inactive_beside_the_new_one(indexed, other_encoder):
    data_dir, _, _ = indexed
    report = run_reindex(data_dir, other_encoder, keep=True)
    with Store(data_dir) as store:
        generations = {g.id: g for g in list_generations(store)}
    assert generations[1].status == "ready" and not generations[1].active
    assert generations[report.generation_id].active
    assert (data_dir / "vectors-g1.faiss").is_file()


def test_an_image_that_cannot_be_read_again_keeps_the_old_generation_in_service(indexed, encoder, other_encoder):
    data_dir, inputs, expected = indexed
    folder = inputs[0]
    moved = folder / "a.jpg"
    moved.rename(folder.parent / "a.jpg.away")
    report = run_reindex(data_dir, other_encoder)
    assert not report.switched
    assert [f.member for f in report.failures] == ["a.jpg"]
    assert report.embedded == len(expected) - 1
    with Store(data_dir) as store:
        assert store.model == model_identity(encoder)  # still the old model, searchable as before
        assert Searcher(store, encoder).search_text("fields", k=3)
        assert check_store(store).ok
    # Put the file back: the next run resumes, embedding only what is missing, and switches.
    (folder.parent / "a.jpg.away").rename(moved)
    resumed = run_reindex(data_dir, other_encoder)
    assert resumed.switched and resumed.generation_id == report.generation_id
    assert (resumed.resumed_with, resumed.embedded) == (len(expected) - 1, 1)


def test_a_file_whose_content_changed_since_indexing_is_not_embedded_under_the_old_id(indexed, other_encoder):
    data_dir, inputs, _ = indexed
    noise_image(1234).save(inputs[0] / "a.jpg")  # b.png would still be found in its copy sub/dup.png
    report = run_reindex(data_dir, other_encoder)
    assert not report.switched
    assert [f.member for f in report.failures] == ["a.jpg"] and "changed" in report.failures[0].reason


def test_content_is_read_from_another_file_that_holds_it_when_its_own_is_gone(indexed, other_encoder):
    data_dir, inputs, expected = indexed
    (inputs[0] / "b.png").unlink()  # sub/dup.png holds the same bytes
    report = run_reindex(data_dir, other_encoder)
    assert report.switched and report.embedded == len(expected)


def test_a_reindex_to_another_model_drops_an_unfinished_one(indexed, encoder, other_encoder):
    data_dir, inputs, _ = indexed
    (inputs[0] / "a.jpg").rename(inputs[0].parent / "away.jpg")
    unfinished = run_reindex(data_dir, other_encoder)
    assert not unfinished.switched
    (inputs[0].parent / "away.jpg").rename(inputs[0] / "a.jpg")
    rebuilt = run_reindex(data_dir, encoder)  # same model as in service: a plain rebuild
    assert rebuilt.switched and rebuilt.resumed_with == 0
    with Store(data_dir) as store:
        assert [g.id for g in list_generations(store)] == [rebuilt.generation_id]


def test_members_of_a_tar_archive_are_read_again_in_one_pass(tmp_path, encoder, other_encoder):
    archive = tmp_path / "chips.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        for seed in range(5):
            buffer = io.BytesIO()
            noise_image(seed).save(buffer, format="PNG")
            info = tarfile.TarInfo(f"t/{seed}.png")
            info.size = len(buffer.getvalue())
            handle.addfile(info, io.BytesIO(buffer.getvalue()))
    with Store(tmp_path / "data", writable=True) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, progress=False).run([archive])
    report = run_reindex(tmp_path / "data", other_encoder)
    assert report.switched and report.embedded == 5
    with Store(tmp_path / "data") as store:
        query = np.asarray(other_encoder.encode_images([noise_image(3)]))[0]
        assert store.search(query, k=1)[0][0].image.member == "t/3.png"
