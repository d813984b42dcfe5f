"""Single-band files of one scene (Landsat *_B4/_B3/_B2) become one RGB item."""

from __future__ import annotations

from datetime import date

import numpy as np

from indexer.chips import render_chip
from indexer.stacks import StackPattern
from tests.rasters import index_into, textured, write_geotiff

SCENES = ("LC08_L1TP_044034_20130330_20170310_01_T1", "LC08_L1TP_044034_20140505_20170310_01_T1")


def write_landsat_scene(folder, scene, bands=(2, 3, 4, 5), size=(96, 128), seed=0):
    """Left half bright in B4 (red) only, right half bright in B2 (blue) only."""
    height, width = size
    for band in bands:
        data = textured((1, height, width), 8000, 9000, seed=seed * 10 + band)
        if band == 4:
            data[:, :, : width // 2] += 12000
        if band == 2:
            data[:, :, width // 2 :] += 12000
        write_geotiff(folder / f"{scene}_B{band}.TIF", data, nodata=0)


def test_pattern_gives_one_key_per_scene_and_the_band():
    pattern = StackPattern("*_B{band}.TIF")
    assert pattern.match("a/LC08_X_B4.TIF") == ("a/LC08_X_B{band}.TIF", "4")
    assert pattern.match("LC08_X_B10.tif") == ("LC08_X_B{band}.tif", "10")
    assert pattern.match("LC08_X_B4.TIF.aux.xml") is None


def test_band_files_of_each_scene_are_stacked_red_green_blue(tmp_path, encoder):
    (tmp_path / "in").mkdir()
    for seed, scene in enumerate(SCENES):
        write_landsat_scene(tmp_path / "in", scene, seed=seed)
    report, records = index_into(tmp_path / "data", encoder, [tmp_path / "in"], stack="*_B{band}.TIF", bands=("4", "3", "2"))
    assert report.failed == 0 and report.scenes == 2 and len(records) == 2  # B5 files are not items of their own
    assert {r.geo.acquired for r in records} == {date(2013, 3, 30), date(2014, 5, 5)}
    for record in records:
        assert record.geo.sensor == "Landsat 8 OLI/TIRS"
        assert [band for _member, band in record.geo.layers] == [1, 1, 1]
        assert [member[-6:] for member, _band in record.geo.layers] == ["B4.TIF", "B3.TIF", "B2.TIF"]
        assert record.geo.scene.endswith("_B{4,3,2}.TIF")
        rgb = np.asarray(render_chip(record)).astype(int)
        left, right = rgb[:, :64].mean(axis=(0, 1)), rgb[:, 64:].mean(axis=(0, 1))
        assert left[0] > left[2] + 60  # red band on the red channel
        assert right[2] > right[0] + 60  # blue band on the blue channel


def test_a_scene_missing_a_band_is_reported(tmp_path, encoder):
    write_landsat_scene(tmp_path, SCENES[0], bands=(3, 4))
    report, records = index_into(tmp_path / "data", encoder, [tmp_path], stack="*_B{band}.TIF", bands=("4", "3", "2"))
    assert records == [] and report.failed == 1
    assert "lacks band(s) 2" in report.failures[0].reason


def test_band_files_on_different_grids_are_refused(tmp_path, encoder):
    write_landsat_scene(tmp_path, SCENES[0], bands=(3, 4))
    write_landsat_scene(tmp_path, SCENES[0], bands=(2,), size=(50, 50))
    report, records = index_into(tmp_path / "data", encoder, [tmp_path], stack="*_B{band}.TIF", bands=("4", "3", "2"))
    assert records == [] and "not on the same pixel grid" in report.failures[0].reason
