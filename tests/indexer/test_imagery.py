"""One reader for every path: fill and stretch rules on provider-like rasters, and query
pictures that are exactly what indexing embeds (``indexer.imagery``)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

from indexer import raster
from indexer.decode import DecodeError
from indexer.imagery import input_file, model_images, query_image
from indexer.limits import FailureKind
from indexer.raster import RasterFile, RasterOptions, open_scene, read_layers, to_rgb8
from storage import Store
from tests.rasters import index_into, landsat_like_stack, one_chip_scenes, provider_fill, textured, write_geotiff
from tests.vectors import assert_stored_equal


def stack_scene(paths, **options):
    files = [RasterFile(path.name, path=path) for path in paths]
    return open_scene(str(paths[0].parent), "LC08_TEST_B{4,3,2}.TIF", files, RasterOptions(**options))


def test_zero_fill_without_a_nodata_tag_is_masked_and_left_out_of_the_stretch(tmp_path):
    paths = landsat_like_stack(tmp_path, size=(200, 200))
    scene = stack_scene(paths, bands=("4", "3", "2"), stack="*_B{band}.TIF")
    assert scene.fill == 0
    for path, (low, high) in zip(paths, scene.stretch):
        with rasterio.open(path) as src:
            values = src.read(1)
        valid = values[values != 0]
        assert low == pytest.approx(np.percentile(valid, 2), rel=0.02)  # not 0: the fill is not in it
        assert high == pytest.approx(np.percentile(valid, 98), rel=0.02)


def test_chips_mostly_of_undeclared_fill_are_skipped(tmp_path, encoder):
    paths = landsat_like_stack(tmp_path / "in", size=(200, 200))
    report, records = index_into(
        tmp_path / "data", encoder, [tmp_path / "in"], bands=("4", "3", "2"), stack="*_B{band}.TIF", chip_size=64
    )
    with rasterio.open(paths[0]) as src:
        fill = src.read(1) == 0
    starts = (0, 64, 128, 136)
    fill_shares = [fill[y : y + 64, x : x + 64].mean() for y in starts for x in starts]
    assert report.mostly_nodata == sum(share > 0.5 for share in fill_shares) > 0
    assert len(records) == sum(share <= 0.5 for share in fill_shares)
    assert all(record.geo.fill == 0 for record in records)  # kept, so the chip reads back alike


def test_a_fill_value_that_is_not_the_lowest_is_named_with_nodata(tmp_path):
    data = provider_fill(textured((3, 120, 120), 6000, 14000), fill=65535)
    path = write_geotiff(tmp_path / "mosaic.tif", data)
    guessed = open_scene(str(tmp_path), path.name, [RasterFile(path.name, path=path)], RasterOptions())
    named = open_scene(str(tmp_path), path.name, [RasterFile(path.name, path=path)], RasterOptions(nodata=65535))
    assert guessed.fill is None and guessed.stretch[0][1] == 65535  # only the lowest constant edge is guessed
    assert named.fill == 65535 and named.stretch[0][1] < 14001


def test_a_declared_nodata_value_is_the_files_word(tmp_path):
    path = write_geotiff(tmp_path / "tagged.tif", provider_fill(textured((3, 80, 80), 100, 900)), nodata=0)
    scene = open_scene(str(tmp_path), path.name, [RasterFile(path.name, path=path)], RasterOptions())
    assert scene.fill is None and scene.stretch[0][0] > 100  # GDAL's mask already leaves the fill out


def test_query_picture_of_a_one_chip_geotiff_is_the_indexed_chip(tmp_path, encoder):
    scenes = one_chip_scenes(tmp_path / "in")
    _report, records = index_into(tmp_path / "data", encoder, [scenes["rotated"]], chip_size=128)
    [record] = records
    with Store(tmp_path / "data") as store:
        indexed = store.vector(record.id)
    file = input_file(scenes["rotated"].name, path=scenes["rotated"])
    query = query_image(file, RasterOptions(chip_size=128), model_size=encoder.spec.image_size)
    assert "chip 0,0 100x90" in query.reading and "as indexing reads it" in query.reading
    assert_stored_equal(encoder.encode_images([query.image])[0], indexed)
    uploaded = query_image(input_file("upload", data=scenes["rotated"].read_bytes()), model_size=32)
    assert np.array_equal(np.asarray(uploaded.image), np.asarray(query.image))  # a nameless upload alike


def test_a_whole_scene_read_over_the_pixel_limit_is_refused_until_it_has_overviews(tmp_path):
    path = write_geotiff(tmp_path / "big.tif", textured((3, 600, 500), 300, 9000, seed=5))
    query = lambda: query_image(input_file("upload", data=path.read_bytes()), model_size=64, max_pixels=100_000)  # noqa: E731
    with pytest.raises(DecodeError, match="overviews") as refused:
        query()  # 300,000 pixels decoded for a 64 px picture: refused, not read
    assert refused.value.kind == FailureKind.TOO_MANY_PIXELS
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4, 8], Resampling.average)
    assert query().image.size == (53, 64)  # now read from the 1/8 overview: 63 x 76 pixels


def test_scene_bigger_than_a_chip_is_read_whole_at_model_size_from_its_overviews(tmp_path):
    path = write_geotiff(tmp_path / "big.tif", provider_fill(textured((3, 600, 500), 300, 9000, seed=5)))
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4, 8], Resampling.average)
    query = query_image(input_file(path.name, path=path), RasterOptions(chip_size=128), model_size=64)
    assert query.image.size == (53, 64)  # the longest side at the model's input size
    assert "whole scene 500x600" in query.reading and "from its overviews" in query.reading
    assert "fill value 0 masked" in query.reading
    scene = open_scene(str(tmp_path), path.name, [RasterFile(path.name, path=path)], RasterOptions(chip_size=128))
    values, valid = read_layers(scene.layers, None, (64, 53), Resampling.average, scene.fill)
    assert np.array_equal(np.asarray(query.image), to_rgb8(values, valid, scene.stretch))
    assert np.asarray(query.image)[valid].mean() > 60  # stretched on valid pixels: neither black nor pale


def test_model_images_are_the_chips_indexing_keeps(tmp_path, encoder):
    (tmp_path / "in").mkdir()
    path = write_geotiff(tmp_path / "in" / "big.tif", provider_fill(textured((3, 200, 200), 300, 9000)))
    _report, records = index_into(tmp_path / "data", encoder, [path], chip_size=64)
    chips = list(model_images(input_file(path.name, path=path), RasterOptions(chip_size=64)))
    assert 0 < len(chips) < 16  # the mostly-fill corners are left out, as indexing leaves them
    assert [c.chip.sha256 for c in chips] == [record.sha256 for record in records]


def _float32_tiff(width: int, height: int) -> bytes:
    """A smooth float32 reflectance picture: compresses to little, decodes to width*height*4 bytes."""
    from rasterio.io import MemoryFile

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    values = (0.3 + 0.2 * np.sin(xx / 300) * np.cos(yy / 200))[np.newaxis]
    with MemoryFile() as memory:
        with memory.open(driver="GTiff", width=width, height=height, count=1, dtype="float32", compress="deflate",
                         predictor=3, tiled=True) as dst:
            dst.write(values)
        return memory.read()


def test_a_large_float_tiff_upload_is_read_decimated_without_a_full_resolution_copy():
    """Issue 11 (memory per upload): 20 MP of float32 used to become float64 arrays of 160 MB each;
    read at the size a query needs, Python-side allocations stay a few MB (GDAL's are in bench/load.py)."""
    import tracemalloc

    upload = input_file("upload", data=_float32_tiff(5000, 4000))
    tracemalloc.start()
    try:
        query = query_image(upload, model_size=224, longest_side=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert query.image.mode == "RGB" and query.image.size == (224, 179)
    assert "whole scene 5000x4000" in query.reading
    assert np.asarray(query.image).std() > 10  # stretched, not flat
    assert peak < 48 << 20, f"peak {peak >> 20} MiB of Python-side allocations"


def test_repeated_queries_of_one_scene_work_out_its_statistics_once(tmp_path):
    path = write_geotiff(tmp_path / "scene.tif", textured((3, 300, 280), 300, 9000, seed=11))
    before = raster.SCENE_STATISTICS.computed
    first = query_image(input_file(path.name, path=path), RasterOptions(chip_size=128), model_size=64)
    again = query_image(input_file(path.name, path=path), RasterOptions(chip_size=128), model_size=64)
    uploaded = query_image(input_file("upload", data=path.read_bytes()), RasterOptions(chip_size=128), model_size=64)
    assert raster.SCENE_STATISTICS.computed == before + 1  # the same bytes, by path or uploaded
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert np.array_equal(np.asarray(first.image), np.asarray(uploaded.image))
    query_image(input_file(path.name, path=path), RasterOptions(chip_size=128, stretch=(1, 99)), model_size=64)
    assert raster.SCENE_STATISTICS.computed == before + 2  # other percentiles: other statistics


def test_a_file_changed_in_place_never_gets_the_old_versions_statistics(tmp_path, monkeypatch):
    """Same path, size, inode and modification time: only the content differs, and the key is the content."""
    path = write_geotiff(tmp_path / "scene.tif", textured((3, 300, 280), 300, 9000, seed=12))
    options = RasterOptions(chip_size=128)
    old = query_image(input_file(path.name, path=path), options, model_size=64)
    status = path.stat()
    with rasterio.open(path, "r+") as dst:
        dst.write(textured((3, 300, 280), 2000, 4000, seed=12))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_ino) == (status.st_size, status.st_ino)
    changed = query_image(input_file(path.name, path=path), options, model_size=64)
    monkeypatch.setattr(raster, "SCENE_STATISTICS", raster.SceneStatistics())  # nothing remembered
    fresh = query_image(input_file(path.name, path=path), options, model_size=64)
    assert np.array_equal(np.asarray(changed.image), np.asarray(fresh.image))
    assert not np.array_equal(np.asarray(changed.image), np.asarray(old.image))
