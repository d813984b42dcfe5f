"""Acquisition dates, sensors and ground resolution from names, tags and transforms."""

from __future__ import annotations

from datetime import date

import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin

from indexer.geo import acquisition_date, ground_resolution_m, sensor_name
from indexer.raster import RasterFile, RasterOptions, open_scene
from tests.rasters import textured, write_geotiff


@pytest.mark.parametrize(
    "name, expected",
    [
        ("naip_m_4709963_se_14_1_20140720.tif", date(2014, 7, 20)),
        ("LC08_L1TP_044034_20130330_20170310_01_T1_B4.TIF", date(2013, 3, 30)),  # acquisition, not processing
        ("LC80440342013089LGN00_B4.TIF", date(2013, 3, 30)),  # pre-collection id: year + day of year
        ("S2B_MSIL2A_20200801T101559_N0214_R065_T32TQM.tif", date(2020, 8, 1)),
        ("flight_2019-06-03_ortho.tif", date(2019, 6, 3)),
        ("tile_20141399.tif", None),  # not a date
        ("m_4709963_se_14.tif", None),
        ("scene.tif", None),
    ],
)
def test_date_comes_from_the_file_name(name, expected):
    assert acquisition_date(name) == expected


def test_acquisition_tag_beats_the_name_and_the_name_beats_the_tiff_datetime():
    assert acquisition_date("x_20140720.tif", {"ACQUISITIONDATETIME": "2015-01-02T10:00:00Z"}) == date(2015, 1, 2)
    assert acquisition_date("x_20140720.tif", {"TIFFTAG_DATETIME": "2020:05:06 12:00:00"}) == date(2014, 7, 20)
    assert acquisition_date("x.tif", {"TIFFTAG_DATETIME": "2020:05:06 12:00:00"}) == date(2020, 5, 6)


def test_tiff_datetime_tag_written_with_rasterio_is_read_back(tmp_path):
    path = write_geotiff(tmp_path / "x.tif", textured((3, 32, 32), 0, 900), tags={"TIFFTAG_DATETIME": "2018:09:10 08:30:00"})
    scene = open_scene(str(tmp_path), "x.tif", [RasterFile("x.tif", path=path)], RasterOptions())
    assert scene.acquired == date(2018, 9, 10)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("LC08_L1TP_044034_20130330_20170310_01_T1_B4.TIF", "Landsat 8 OLI/TIRS"),
        ("LE07_L2SP_014032_20200102_20200130_02_T1.tif", "Landsat 7 ETM+"),
        ("LT50440342009123PAC01.tif", "Landsat 5 TM"),
        ("landsat7_RGB.byte.tif", "Landsat 7"),
        ("S2B_MSIL2A_20200801T101559_N0214_R065_T32TQM.tif", "Sentinel-2B"),
        ("naip_m_4709963_se_14_1_20140720.tif", "NAIP"),
        ("m_4709963_se_14_060_20190703.tif", "NAIP"),
        ("scene.tif", None),
        ("landsat_1985.tif", None),  # a year, not Landsat 1: unknown is better than wrong
        ("landsat_2020.tif", None),
        ("landsat8_mosaic.tif", "Landsat 8"),
    ],
)
def test_sensor_comes_from_well_known_naming(name, expected):
    assert sensor_name(name) == expected


def test_sensor_tag_wins_over_the_name():
    assert sensor_name("landsat7.tif", {"SENSOR": "WorldView-3"}) == "WorldView-3"


def test_ground_resolution_in_projected_and_geographic_crs():
    assert ground_resolution_m(CRS.from_epsg(32633), from_origin(0, 0, 30, 30)) == pytest.approx(30)
    us_feet = CRS.from_epsg(2264)  # NC State Plane, US survey feet
    assert ground_resolution_m(us_feet, from_origin(0, 0, 10, 10)) == pytest.approx(3.048, abs=1e-3)
    at_equator = ground_resolution_m(CRS.from_epsg(4326), from_origin(0, 0, 1 / 3600, 1 / 3600), latitude=0.0)
    assert at_equator == pytest.approx(30.92, abs=0.05)
    assert ground_resolution_m(None, from_origin(0, 0, 1, 1)) is None


def test_landsat_mtl_sidecar_gives_date_and_sensor_of_a_band_file(tmp_path):
    (tmp_path / "LC08_L1TP_044034_20130330_20170310_01_T1_MTL.txt").write_text(
        'GROUP = L1_METADATA_FILE\n  SPACECRAFT_ID = "LANDSAT_8"\n  SENSOR_ID = "OLI_TIRS"\n'
        "  DATE_ACQUIRED = 2013-04-02\nEND_GROUP = L1_METADATA_FILE\n"
    )
    path = write_geotiff(tmp_path / "LC08_L1TP_044034_20130330_20170310_01_T1_B4.TIF", textured((1, 32, 32), 0, 900))
    scene = open_scene(str(tmp_path), path.name, [RasterFile(path.name, path=path)], RasterOptions())
    assert (scene.acquired, scene.sensor) == (date(2013, 4, 2), "Landsat 8 OLI/TIRS")  # the file's word over the name
