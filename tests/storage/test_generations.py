"""Generations: built beside the one in service, switched in one transaction, old ones retired."""

from __future__ import annotations

import numpy as np
import pytest

from storage import ModelIdentity, Store, StoreError
from storage.generations import RETIRING, list_generations
from tests.storage.test_check import saved_index
from tests.storage.test_store import MODEL, new_images, unit_vectors

pytestmark = pytest.mark.both_catalogs

NEW_MODEL = ModelIdentity("test/bigger", "fingerprint-new", 12)


@pytest.fixture
def data_dir(tmp_path):
    return saved_index(tmp_path / "data", images=6)


def fill(build, ids, seed=1):
    build.add(ids, unit_vectors(len(ids), seed=seed, dim=build.model.dimension))


def test_searches_use_the_old_generation_until_the_switch_and_the_new_one_after(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        with Store(data_dir) as reader:
            assert reader.model == MODEL and reader.stats().vectors == 6
            assert reader.current_version() == reader.loaded_version
        build.switch()
        assert writer.model == NEW_MODEL
        with Store(data_dir) as reader:
            assert reader.model == NEW_MODEL
            assert reader.search(unit_vectors(1, dim=12), k=3)[0]


def test_a_reader_opened_before_the_switch_sees_that_it_is_stale(data_dir):
    with Store(data_dir) as reader, Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        build.switch()
        assert reader.current_version() != reader.loaded_version
        assert reader.current_version().generation_id == build.id
        assert reader.search(unit_vectors(1), k=2)[0]  # its loaded generation still answers


def test_the_switch_is_refused_while_an_image_lacks_a_vector(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3])
        with pytest.raises(StoreError, match="3 of 6"):
            build.switch()
        assert writer.model == MODEL
        assert build.progress() == (3, 6)


def test_an_interrupted_build_is_resumed_by_the_next_begin_for_the_same_model(data_dir):
    with Store(data_dir, writable=True) as writer:
        fill(writer.begin_generation(NEW_MODEL), [1, 2])
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        assert build.progress() == (2, 6)
        assert [image.id for image in build.pending_images("/archive.zip")] == [3, 4, 5, 6]


def test_an_image_added_while_a_build_is_unfinished_is_pending_in_it(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        writer.add(new_images(1, start=6), unit_vectors(1, seed=5))
        assert build.progress() == (6, 7)


def test_old_generations_are_deleted_after_the_switch_and_kept_with_keep(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        build.switch(keep=True)
        third = writer.begin_generation(MODEL)
        fill(third, [1, 2, 3, 4, 5, 6], seed=3)
        third.switch()
        statuses = {g.id: (g.status, g.active) for g in list_generations(writer)}
    assert statuses == {1: ("ready", False), third.id: ("ready", True)}  # 1 kept; 2 retired and deleted
    assert sorted(p.name for p in data_dir.glob("vectors-g*.faiss")) == ["vectors-g1.faiss", f"vectors-g{third.id}.faiss"]


def test_a_generation_left_retiring_by_a_crash_is_deleted_on_the_next_writable_open(data_dir):
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from storage.models import GenerationRow

    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        build.switch(keep=True)
        with Session(writer._engine) as session, session.begin():  # as if killed right after the switch
            session.execute(update(GenerationRow).where(GenerationRow.id == 1).values(status=RETIRING))
    (data_dir / "vectors-g99.faiss").write_bytes(b"left by nobody")
    with Store(data_dir) as reader:
        assert len(list_generations(reader)) == 2  # readers never delete anything
    with Store(data_dir, writable=True) as writer:
        assert [g.id for g in list_generations(writer)] == [build.id]
    assert sorted(p.name for p in data_dir.glob("vectors-g*")) == [f"vectors-g{build.id}.{ext}" for ext in ("f16", "faiss", "ids")]


def test_vectors_of_the_wrong_dimension_are_refused_by_a_build(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        with pytest.raises(ValueError, match="dimensions"):
            build.add([1], unit_vectors(1, dim=8))
        assert build.progress() == (0, 6)


def test_deleting_an_image_removes_its_vectors_from_every_generation(data_dir):
    with Store(data_dir, writable=True) as writer:
        build = writer.begin_generation(NEW_MODEL)
        fill(build, [1, 2, 3, 4, 5, 6])
        writer.mark_for_sweep(["/archive.zip"])
        writer.unmark([1, 2, 3, 4, 5])  # location ids follow image ids here
        assert writer.sweep(["/archive.zip"]).removed_images == 1
        assert build.progress() == (5, 5)
        assert writer.vector(6) is None and writer.stats().vectors == 5
        np.testing.assert_array_equal(np.sort(writer._vectors.ids()), [1, 2, 3, 4, 5])
