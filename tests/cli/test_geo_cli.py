"""rsclip index/search with raster flags and place/time filters, through the real CLI."""

from __future__ import annotations

import json

import pytest
from rasterio.transform import from_origin

from rsclip.cli import main
from tests.rasters import textured, write_geotiff


@pytest.fixture
def indexed(tmp_path, tiny_checkpoint):
    """Two 128x128 scenes (4 chips each at --chip-size 64): near 15 E in 2014, near 16 E in 2020."""
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    write_geotiff(scenes / "west_20140720.tif", textured((3, 128, 128), 0, 3000, seed=1),
                  crs="EPSG:4326", transform=from_origin(15.0, 45.0, 0.001, 0.001))
    write_geotiff(scenes / "east_20200831.tif", textured((3, 128, 128), 0, 3000, seed=2),
                  crs="EPSG:4326", transform=from_origin(16.0, 45.0, 0.001, 0.001))
    data = tmp_path / "data"
    common = ["--data-dir", str(data), "--model", str(tiny_checkpoint)]
    assert main(["index", str(scenes), "--chip-size", "64", "--quiet", *common]) == 0
    return common


def search_json(capsys, *args):
    capsys.readouterr()
    assert main(["search", "fields", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_geojson_results_are_features_with_footprints_inside_the_box(indexed, capsys):
    collection = search_json(capsys, "-k", "10", "--bbox=15.9,44.0,17.0,46.0", "--geojson", *indexed)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == 4  # k is larger than the matches: exactly the east scene's chips
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 5
        assert all(15.99 < lon < 16.2 for lon, _lat in ring)
        assert feature["properties"]["geo"]["acquired"] == "2020-08-31"


def test_date_filter_fills_k_from_the_matching_scene(indexed, capsys):
    hits = search_json(capsys, "-k", "3", "--date-to", "2015-01-01", "--json", *indexed)
    assert len(hits) == 3
    assert {hit["member"] for hit in hits} == {"west_20140720.tif"}
    assert all(hit["geo"]["crs"] == "EPSG:4326" and hit["geo"]["bands"] == "1,2,3" for hit in hits)


def test_bad_filters_are_one_line_errors(indexed, capsys):
    assert main(["search", "fields", "--bbox=15,44,14,46", *indexed]) == 1
    assert "bbox" in capsys.readouterr().err
    assert main(["search", "fields", "--date-from", "2020-13-01", *indexed]) == 1
    assert "--date-from must be a date" in capsys.readouterr().err  # the flag, as typed


def test_bad_raster_flags_are_one_line_errors(tmp_path, capsys):
    assert main(["index", str(tmp_path), "--overlap", "300", "--data-dir", str(tmp_path / "d")]) == 1
    assert "overlap" in capsys.readouterr().err
    assert main(["index", str(tmp_path), "--stack", "*_B{band}.TIF", "--data-dir", str(tmp_path / "d")]) == 1
    assert "band stack needs the bands" in capsys.readouterr().err
