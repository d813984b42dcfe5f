"""Raster scenes become stretched, masked, windowed chips (GeoTIFFs written here with rasterio)."""

from __future__ import annotations

import zipfile
from datetime import date

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from affine import Affine
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from indexer.chips import chip_png, render_chip
from indexer.chip_grid import chip_grid
from indexer.raster import RasterError, RasterFile, RasterOptions, open_scene, read_chip
from tests.rasters import UTM_33N, index_into, textured, write_geotiff


def scene_of(path, **options):
    options = RasterOptions(**options)
    return open_scene(str(path.parent), path.name, [RasterFile(path.name, path=path)], options), options


def chip_pixels(scene, chip):
    rgb, _valid = read_chip(scene.layers, chip, scene.stretch)
    return rgb


def test_scene_is_cut_into_whole_chips_with_the_last_row_and_column_flush_with_the_edge(tmp_path):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 400, 600), 1000, 4000))
    scene, options = scene_of(path)
    windows = [(c.x, c.y, c.width, c.height) for c in chip_grid(scene, options)]
    assert windows == [(x, y, 256, 256) for y in (0, 144) for x in (0, 256, 344)]


def test_overlap_shortens_the_stride(tmp_path):
    path = write_geotiff(tmp_path / "s.tif", textured((1, 300, 600), 0, 100, dtype="uint8"))
    scene, options = scene_of(path, chip_size=256, overlap=64)
    assert sorted({c.x for c in chip_grid(scene, options)}) == [0, 192, 344]


def test_scene_smaller_than_a_chip_is_one_chip_of_its_own_size(tmp_path):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 90, 120), 0, 3000))
    scene, options = scene_of(path)
    [chip] = chip_grid(scene, options)
    assert (chip.x, chip.y, chip.width, chip.height, chip.out_width, chip.out_height) == (0, 0, 120, 90, 120, 90)


@pytest.mark.parametrize(
    "dtype, low, high", [("uint8", 60, 110), ("uint16", 7000, 9000), ("float32", 0.02, 0.31)]
)
def test_stretched_chips_are_neither_black_nor_saturated(tmp_path, dtype, low, high):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 256, 256), low, high, dtype=dtype))
    scene, options = scene_of(path)
    rgb = chip_pixels(scene, chip_grid(scene, options)[0])
    assert rgb.dtype == np.uint8 and rgb.shape == (256, 256, 3)
    assert 60 < rgb.mean() < 195
    assert (rgb == 0).mean() < 0.05 and (rgb == 255).mean() < 0.05
    assert rgb.std() > 30  # stretched to use the range, not a flat grey


def test_nodata_is_left_out_of_the_stretch_and_painted_black(tmp_path):
    data = textured((3, 256, 256), 5000, 6000)
    data[:, :, :100] = 0
    path = write_geotiff(tmp_path / "s.tif", data, nodata=0)
    scene, options = scene_of(path)
    assert all(low >= 5000 for low, _high in scene.stretch)
    rgb = chip_pixels(scene, chip_grid(scene, options)[0])
    assert (rgb[:, :100] == 0).all()
    assert 60 < rgb[:, 100:].mean() < 195


def test_nan_pixels_of_a_float_scene_are_masked(tmp_path):
    data = textured((1, 128, 128), 0.1, 0.4, dtype="float32")
    data[0, :20] = np.nan
    path = write_geotiff(tmp_path / "s.tif", data, nodata=float("nan"))
    scene, options = scene_of(path)
    rgb, valid = read_chip(scene.layers, chip_grid(scene, options)[0], scene.stretch)
    assert (rgb[:20] == 0).all() and valid == pytest.approx(108 / 128)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()  # one band: grey


def test_alpha_band_masks_pixels_and_is_not_shown(tmp_path):
    data = textured((4, 64, 64), 20, 220, dtype="uint8")
    data[3] = 255
    data[3, 32:] = 0
    interp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    path = write_geotiff(tmp_path / "s.tif", data, colorinterp=interp)
    scene, options = scene_of(path)
    assert [layer.band for layer in scene.layers] == [1, 2, 3]
    rgb = chip_pixels(scene, chip_grid(scene, options)[0])
    assert (rgb[32:] == 0).all() and rgb[:32].mean() > 30


def test_default_bands_follow_colour_interpretation_else_the_first_three(tmp_path):
    bgr = write_geotiff(
        tmp_path / "bgr.tif",
        textured((3, 32, 32), 0, 900),
        colorinterp=[ColorInterp.blue, ColorInterp.green, ColorInterp.red],
    )
    four = write_geotiff(tmp_path / "four.tif", textured((4, 32, 32), 0, 900))
    assert [layer.band for layer in scene_of(bgr)[0].layers] == [3, 2, 1]
    assert [layer.band for layer in scene_of(four)[0].layers] == [1, 2, 3]
    assert [layer.band for layer in scene_of(four, bands=("4", "3", "2"))[0].layers] == [4, 3, 2]
    with pytest.raises(RasterError, match="band 5 was asked for, but the file has 4"):
        scene_of(four, bands=("5", "3", "2"))


def test_chip_bounding_boxes_match_rasterio_transformed_bounds(tmp_path, encoder):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 300, 520), 0, 3000))
    _report, records = index_into(tmp_path / "data", encoder, [path])
    assert len(records) == 6
    with rasterio.open(path) as src:
        for record in records:
            window = Window(*record.geo.window)
            expected = transform_bounds(src.crs, "EPSG:4326", *window_bounds(window, src.transform), densify_pts=21)
            assert record.geo.bbox == pytest.approx(expected, abs=1e-9)
            assert record.geo.crs == UTM_33N
            assert record.geo.resolution_m == pytest.approx(10.0)


def test_rotated_scene_gets_its_true_corners_and_rasterio_bounds(tmp_path, encoder):
    transform = from_origin(500_000.0, 5_000_000.0, 10.0, 10.0) @ Affine.rotation(25)
    path = write_geotiff(tmp_path / "rot.tif", textured((3, 120, 200), 100, 900), transform=transform)
    _report, [record] = index_into(tmp_path / "data", encoder, [path])
    with rasterio.open(path) as src:
        assert not src.transform.is_rectilinear
        expected_bbox = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        corners = [src.transform @ corner for corner in ((0, 0), (200, 0), (200, 120), (0, 120))]
        lons, lats = warp_transform(src.crs, "EPSG:4326", [c[0] for c in corners], [c[1] for c in corners])
    assert record.geo.bbox == pytest.approx(expected_bbox, abs=1e-9)
    assert np.ravel(record.geo.footprint) == pytest.approx(np.ravel(list(zip(lons, lats))), abs=1e-9)


def test_geographic_scene_resolution_is_in_metres(tmp_path, encoder):
    transform = from_origin(15.0, 45.1, 0.0001, 0.0001)
    path = write_geotiff(tmp_path / "geo.tif", textured((3, 64, 64), 0, 1, dtype="float32"), crs="EPSG:4326", transform=transform)
    _report, [record] = index_into(tmp_path / "data", encoder, [path])
    assert record.geo.crs == "EPSG:4326"
    assert record.geo.bbox == pytest.approx((15.0, 45.0936, 15.0064, 45.1), abs=1e-9)
    # 0.0001 degrees: 11.1 m north-south, 7.9 m east-west at 45 N
    assert record.geo.resolution_m == pytest.approx((11.13 + 7.87) / 2, abs=0.1)


def test_mostly_nodata_chips_are_skipped(tmp_path, encoder):
    data = textured((3, 512, 512), 1000, 3000)
    data[:, :256, :210] = 0  # chip (0, 0): 82 % nodata
    data[:, 256:, 256:330] = 0  # chip (256, 256): 29 % nodata, kept
    path = write_geotiff(tmp_path / "s.tif", data, nodata=0)
    report, records = index_into(tmp_path / "data", encoder, [path])
    assert report.mostly_nodata == 1 and report.failed == 0
    assert sorted(record.geo.window[:2] for record in records) == [(0, 256), (256, 0), (256, 256)]
    report, _ = index_into(tmp_path / "data", encoder, [path], max_nodata=0.9)
    assert report.added == 1  # the other three are already indexed


def test_reindexing_the_same_scene_adds_nothing(tmp_path, encoder):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 300, 300), 0, 3000))
    first, records = index_into(tmp_path / "data", encoder, [path])
    again, _ = index_into(tmp_path / "data", encoder, [path])
    assert first.added == 4 and first.scenes == 1
    assert again.added == 0 and again.unchanged == 4  # the unchanged scene is not even opened
    other_bands, _ = index_into(tmp_path / "data", encoder, [path], bands=("3", "2", "1"))
    assert other_bands.added == 4  # other bands make other pixels: other items


def test_resampling_to_a_coarser_resolution_reads_larger_windows(tmp_path, encoder):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 600, 600), 0, 3000))
    _report, records = index_into(tmp_path / "data", encoder, [path], chip_size=128, resample_to=20.0)
    assert {(r.geo.window[2], r.geo.window[3], r.width, r.height) for r in records} == {(256, 256, 128, 128)}
    assert {r.geo.window[:2] for r in records} == {(x, y) for x in (0, 256, 344) for y in (0, 256, 344)}
    assert all(r.geo.resolution_m == pytest.approx(20.0) for r in records)


def test_scene_inside_a_zip_is_read_in_memory_and_renders_as_indexed(tmp_path, encoder):
    path = write_geotiff(tmp_path / "s.tif", textured((4, 200, 300), 0, 3000))
    archive = tmp_path / "scenes.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(path, "deep/s.tif")
    path.unlink()
    _report, records = index_into(tmp_path / "data", encoder, [archive])
    assert [(r.source, r.member) for r in records] == [(str(archive), "deep/s.tif")] * 2
    from storage import Store

    with Store(tmp_path / "data") as store:
        for record in records:
            image = render_chip(record)
            assert image.size == (record.width, record.height)
            again = encoder.encode_images([image])[0]
            assert float(again @ store.vector(record.id)) > 0.9999  # the very pixels that were indexed
    assert chip_png(records[0]).startswith(b"\x89PNG")


def test_plain_8bit_tiff_without_georeferencing_stays_one_pillow_item(tmp_path, encoder, make_image):
    make_image(1, size=(400, 300)).save(tmp_path / "photo.tif")
    write_geotiff(tmp_path / "plain16.tif", textured((1, 300, 400), 0, 60000), crs=None)
    report, records = index_into(tmp_path / "data", encoder, [tmp_path])
    by_name = {}
    for record in records:
        by_name.setdefault(record.member, []).append(record)
    [photo] = by_name["photo.tif"]
    assert photo.geo is None and (photo.width, photo.height) == (400, 300)
    chips = by_name["plain16.tif"]  # 16-bit: the raster reader, chips without a place on Earth
    assert len(chips) == 4 and all(c.geo.crs is None and c.geo.bbox is None for c in chips)


def test_unreadable_band_choice_is_reported_and_the_run_goes_on(tmp_path, encoder):
    write_geotiff(tmp_path / "a.tif", textured((3, 64, 64), 0, 3000))
    report, records = index_into(tmp_path / "data", encoder, [tmp_path], bands=("4", "3", "2"))
    assert report.failed == 1 and "band 4 was asked for" in report.failures[0].reason
    assert records == []


def test_jpeg2000_scene_is_read_like_a_geotiff(tmp_path, encoder):
    path = tmp_path / "T33TWM_20200801T100031_TCI.jp2"
    with rasterio.open(
        path, "w", driver="JP2OpenJPEG", width=100, height=80, count=3, dtype="uint16",
        crs=UTM_33N, transform=from_origin(500_000.0, 5_000_000.0, 10.0, 10.0),
    ) as dst:
        dst.write(textured((3, 80, 100), 0, 3000))
    report, [record] = index_into(tmp_path / "data", encoder, [tmp_path])
    assert report.failed == 0 and record.format == "JP2OpenJPEG"
    assert record.geo.crs == UTM_33N and record.geo.acquired == date(2020, 8, 1)
