"""LiveSearcher: a long-running reader picks up what other writers put in service."""

from __future__ import annotations

import numpy as np
import pytest

from encoder import load_encoder
from indexer import IndexRun
from indexer.reindex import reindex
from service.live import LiveSearcher
from service.searcher import model_identity
from storage import Store
from tests.conftest import noise_image

pytestmark = pytest.mark.both_catalogs


@pytest.fixture
def data_dir(tmp_path, encoder):
    folder = tmp_path / "scenes"
    folder.mkdir()
    for seed in range(4):
        noise_image(seed).save(folder / f"s{seed}.png")
    with Store(tmp_path / "data", writable=True) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, progress=False).run([folder])
    return tmp_path / "data"


def add_images(data_dir, encoder, folder, seeds):
    folder.mkdir(exist_ok=True)
    for seed in seeds:
        noise_image(seed).save(folder / f"n{seed}.png")
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        IndexRun(store, encoder, progress=False).run([folder])


def live(data_dir, encoder, loads: list | None = None) -> LiveSearcher:
    def loader(model):
        if loads is not None:
            loads.append(model)
        return load_encoder(model)

    return LiveSearcher(lambda: Store(data_dir), loader, encoder=encoder, check_interval=0)


def test_items_another_writer_saved_are_served_after_the_next_check(data_dir, encoder, tmp_path):
    searcher = live(data_dir, encoder)
    assert searcher.current().store.count() == 4
    add_images(data_dir, encoder, tmp_path / "more", [10, 11])
    current = searcher.current()
    assert current.store.stats().vectors == 6 and searcher.reloads == 1
    query = np.asarray(encoder.encode_images([noise_image(11)]))[0]
    assert current.store.search(query, k=1)[0][0].image.member == "n11.png"


def test_nothing_is_reloaded_while_nothing_changed(data_dir, encoder):
    searcher = live(data_dir, encoder)
    first = searcher.current()
    assert searcher.current() is first and searcher.reloads == 0


def test_a_new_generation_of_another_model_brings_its_model_along(data_dir, encoder, tmp_path):
    from encoder.tiny_checkpoint import build_tiny_siglip

    other = load_encoder(str(build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=2)))
    loads: list[str] = []
    searcher = live(data_dir, encoder, loads)
    old = searcher.current()
    with Store(data_dir, writable=True) as writer:
        assert reindex(writer, other, model_identity(other), progress=False).switched
    current = searcher.current()
    assert loads == [other.spec.model_id]
    assert current.encoder.spec.dimension == 32 and current.store.model.dimension == 32
    assert len(current.search_text("a harbor", k=3)) == 3
    assert len(old.search_text("a harbor", k=3)) == 3  # a request still holding the old pair finishes fine


def test_a_reload_that_fails_keeps_the_old_index_in_service(data_dir, encoder, tmp_path):
    from encoder.tiny_checkpoint import build_tiny_siglip

    checkpoint = build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=2)
    other = load_encoder(str(checkpoint))
    searcher = live(data_dir, encoder)
    with Store(data_dir, writable=True) as writer:
        reindex(writer, other, model_identity(other), progress=False)
    (checkpoint / "config.json").unlink()  # the new model cannot be loaded here
    current = searcher.current()
    assert current.encoder is encoder and len(current.search_text("fields", k=2)) == 2
