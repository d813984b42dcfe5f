"""Only the indexed content is ever served: a file swapped after indexing is refused, never sent.

An attacker who can replace an indexed image (by other bytes, a link to
``/proc/self/environ`` or to another user's file, a FIFO) must get a 404/410 with a
JSON reason from ``/images/{id}`` and its thumbnail, and no thumbnail may be cached
for what was not verified. Raster chips are checked against their scene's recorded
fingerprint the same way.
"""

from __future__ import annotations

import os
import sqlite3

import pytest
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from tests.conftest import noise_image
from tests.rasters import index_into, textured, write_geotiff
from tests.search_api.conftest import TEST_CLIENT_HOSTS, build_index

SECRET = "rsclip-secret-that-must-never-leak"


@pytest.fixture
def served(tmp_path, encoder, monkeypatch):
    """A fresh index of folder, zip and tar inputs, and a client of an app serving it."""
    from search_api import ApiSettings, create_app

    monkeypatch.setenv("RSCLIP_TEST_SECRET", SECRET)  # would show in /proc/self/environ
    data = build_index(tmp_path, encoder)
    with TestClient(create_app(ApiSettings(data_dir=data.data_dir, allowed_hosts=TEST_CLIENT_HOSTS), encoder=encoder)) as client:
        yield data, client


def _thumbnail_files(data_dir):
    folder = data_dir / "thumbnails"
    return sorted(folder.rglob("*.jpg")) if folder.exists() else []


def _assert_refused(client, image_id, data_dir, *, statuses=(404, 410)):
    for url in (f"/images/{image_id}", f"/images/{image_id}/thumbnail"):
        response = client.get(url)
        assert response.status_code in statuses, (url, response.status_code)
        assert response.headers["content-type"].startswith("application/json")
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
        assert SECRET.encode() not in response.content
    assert _thumbnail_files(data_dir) == []


def test_a_link_to_proc_self_environ_in_place_of_an_image_is_never_served(served):
    data, client = served
    path = data.inputs / "scenes" / "scene_1.png"
    path.unlink()
    path.symlink_to("/proc/self/environ")
    _assert_refused(client, data.ids["scenes/scene_1.png"], data.data_dir)


def test_a_link_to_a_file_outside_the_indexed_folder_is_not_followed(served, tmp_path):
    data, client = served
    outside = tmp_path / "elsewhere" / "passwd.png"
    outside.parent.mkdir()
    outside.write_text(SECRET)
    path = data.inputs / "scenes" / "scene_2.png"
    path.unlink()
    path.symlink_to(outside)
    _assert_refused(client, data.ids["scenes/scene_2.png"], data.data_dir)


def test_another_valid_image_in_place_of_the_indexed_one_is_410_and_not_cached(served):
    data, client = served
    noise_image(99).save(data.inputs / "scenes" / "scene_3.png")  # a real PNG, other content
    image_id = data.ids["scenes/scene_3.png"]
    _assert_refused(client, image_id, data.data_dir, statuses=(410,))
    assert "changed since it was indexed" in client.get(f"/images/{image_id}").json()["detail"]


def test_a_fifo_in_place_of_an_image_is_refused_without_hanging(served):
    data, client = served
    path = data.inputs / "scenes" / "scene_0.png"
    path.unlink()
    os.mkfifo(path)
    _assert_refused(client, data.ids["scenes/scene_0.png"], data.data_dir, statuses=(404,))


def test_a_link_inside_the_indexed_folder_to_the_same_content_is_still_served(served):
    data, client = served
    folder = data.inputs / "scenes"
    original = (folder / "scene_1.png").read_bytes()
    (folder / "scene_1.png").rename(folder / "moved.png")
    (folder / "scene_1.png").symlink_to(folder / "moved.png")
    response = client.get(f"/images/{data.ids['scenes/scene_1.png']}")
    assert response.status_code == 200 and response.content == original


def test_a_changed_archive_member_is_410(served):
    import zipfile

    data, client = served
    archive = data.inputs / "chips.zip"
    with zipfile.ZipFile(archive, "w") as rewritten:  # same member names, other pixels
        rewritten.writestr("zipped/chip_5.png", (data.inputs / "scenes" / "scene_0.png").read_bytes())
        rewritten.writestr("zipped/chip_6.png", b"not even an image")
    _assert_refused(client, data.ids["chips.zip!zipped/chip_5.png"], data.data_dir, statuses=(410,))
    _assert_refused(client, data.ids["chips.zip!zipped/chip_6.png"], data.data_dir, statuses=(410,))


# -- raster chips: checked against the scene's recorded fingerprint -----------------
@pytest.fixture
def chips_served(tmp_path, encoder):
    from search_api import ApiSettings, create_app

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_geotiff(inputs / "scene.tif", textured((3, 128, 128), 0, 3000, seed=1), crs="EPSG:4326",
                  transform=from_origin(15.0, 45.0, 0.001, 0.001))
    report, records = index_into(tmp_path / "data", encoder, [inputs], chip_size=64)
    assert report.added == 4 and report.failed == 0
    with TestClient(create_app(ApiSettings(data_dir=tmp_path / "data", allowed_hosts=TEST_CLIENT_HOSTS), encoder=encoder)) as client:
        yield inputs, tmp_path / "data", records, client


def test_chips_record_their_scene_fingerprint_and_are_served_while_it_holds(chips_served):
    inputs, _data_dir, records, client = chips_served
    assert all(record.geo.scene_sha256 for record in records)
    response = client.get(f"/images/{records[0].id}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert client.get(f"/images/{records[1].id}/thumbnail").status_code == 200


def test_every_chip_of_a_scene_replaced_by_a_smaller_geotiff_is_410_not_500(chips_served):
    inputs, data_dir, records, client = chips_served
    write_geotiff(inputs / "scene.tif", textured((3, 40, 40), 0, 3000, seed=7), crs="EPSG:4326",
                  transform=from_origin(15.0, 45.0, 0.001, 0.001))
    for record in records:  # the chip inside the new file's extent too: never the new file's pixels
        _assert_refused(client, record.id, data_dir, statuses=(410,))


def test_a_scene_replaced_by_a_link_outside_its_folder_is_refused_not_500(chips_served, tmp_path):
    inputs, data_dir, records, client = chips_served
    outside = tmp_path / "other.tif"
    (inputs / "scene.tif").rename(outside)  # the very same content, but outside the indexed folder
    (inputs / "scene.tif").symlink_to(outside)
    _assert_refused(client, records[2].id, data_dir, statuses=(404,))


def test_a_chip_indexed_before_fingerprints_were_recorded_is_checked_by_its_own_sha256(chips_served):
    inputs, data_dir, records, client = chips_served
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:  # as a version 5 catalog left it
        db.execute("UPDATE image_geo SET scene_sha256 = NULL")
    assert client.get(f"/images/{records[0].id}").status_code == 200
    write_geotiff(inputs / "scene.tif", textured((3, 128, 128), 0, 3000, seed=2), crs="EPSG:4326",
                  transform=from_origin(15.0, 45.0, 0.001, 0.001))
    assert client.get(f"/images/{records[3].id}").status_code == 410
