"""Raster scenes across runs: one file, many chips; skipped, replaced, pruned and reindexed as a whole."""

from __future__ import annotations

import os

import numpy as np

from indexer import IndexRun
from indexer.raster import RasterOptions
from indexer.reindex import reindex
from service.searcher import model_identity
from storage import Store
from storage.check import check_store
from tests.rasters import textured, write_geotiff


def run(data_dir, encoder, paths, prune=False, **raster_options):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        return IndexRun(store, encoder, progress=False, prune=prune, raster=RasterOptions(**raster_options)).run(
            [str(path) for path in paths]
        )


def state(data_dir) -> tuple[int, list]:
    with Store(data_dir, writable=True, recover=False) as store:
        report = check_store(store)
        assert report.ok, report.problems
        chips = [loc for source in store.sources() for loc in store.locations_in(source)]
        return report.images, chips


def scene(path, seed=0):
    return write_geotiff(path, textured((3, 300, 300), 0, 3000, seed=seed))  # 4 chips of 256 px


def test_a_replaced_scene_has_its_chips_embedded_again_and_the_old_ones_removed(tmp_path, encoder):
    path = scene(tmp_path / "s.tif")
    run(tmp_path / "data", encoder, [path])
    _, before = state(tmp_path / "data")
    scene(path, seed=5)
    os.utime(path, (2e9, 2e9))
    report = run(tmp_path / "data", encoder, [path])
    assert (report.added, report.replaced) == (4, 4)
    images, after = state(tmp_path / "data")
    assert images == 4 and {loc.part for loc in after} == {loc.part for loc in before}
    assert not {loc.image_id for loc in before} & {loc.image_id for loc in after}


def test_other_chipping_options_add_chips_and_a_rerun_with_either_skips_the_scene(tmp_path, encoder):
    path = scene(tmp_path / "s.tif")
    run(tmp_path / "data", encoder, [path])
    assert run(tmp_path / "data", encoder, [path], bands=("3", "2", "1")).added == 4
    assert run(tmp_path / "data", encoder, [path]).unchanged == 4
    assert run(tmp_path / "data", encoder, [path], bands=("3", "2", "1")).unchanged == 4
    images, chips = state(tmp_path / "data")
    assert images == 8 and len(chips) == 8


def test_prune_removes_every_chip_of_a_deleted_scene_and_keeps_the_others(tmp_path, encoder):
    gone, kept = scene(tmp_path / "a.tif"), scene(tmp_path / "b.tif", seed=3)
    run(tmp_path / "data", encoder, [tmp_path])
    gone.unlink()
    report = run(tmp_path / "data", encoder, [tmp_path], prune=True)
    assert (report.pruned, report.pruned_images, report.unchanged) == (4, 4, 4)
    images, chips = state(tmp_path / "data")
    assert images == 4 and {loc.member for loc in chips} == {kept.name}


def test_reindex_renders_chips_again_and_refuses_a_scene_that_changed(tmp_path, encoder):
    from encoder import load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip
    from indexer.chips import render_chip

    other = load_encoder(str(build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=6)))
    path = scene(tmp_path / "s.tif")
    run(tmp_path / "data", encoder, [path])
    os.utime(path, (2e9, 2e9))  # touched since indexing: its chips are not trusted
    with Store(tmp_path / "data", writable=True) as store:
        refused = reindex(store, other, model_identity(other), progress=False)
    assert not refused.switched and len(refused.failures) == 4 and "scene file" in refused.failures[0].reason
    run(tmp_path / "data", encoder, [path])  # same content: the locations take the new mtime
    with Store(tmp_path / "data", writable=True) as store:
        done = reindex(store, other, model_identity(other), progress=False)
        assert done.switched and done.embedded == 4
        chip = store.get(3)
        query = np.asarray(other.encode_images([render_chip(chip)]))[0]
        assert store.search(query, k=1)[0][0].image.id == 3


def test_chips_a_changed_scene_no_longer_has_are_removed(tmp_path, encoder):
    path = scene(tmp_path / "s.tif")  # 300 px square: windows at 0 and 44 on each axis
    run(tmp_path / "data", encoder, [path])
    write_geotiff(path, textured((3, 300, 600), 0, 3000, seed=9))  # 600 px wide: x at 0, 256, 344
    os.utime(path, (2e9, 2e9))
    report = run(tmp_path / "data", encoder, [path])
    assert report.added == 6
    images, chips = state(tmp_path / "data")
    assert images == 6
    assert sorted(loc.part.split("@")[0] for loc in chips) == sorted(
        f"{x},{y},256,256" for x in (0, 256, 344) for y in (0, 44)
    )
