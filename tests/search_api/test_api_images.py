"""Originals (from folders and inside archives) and cached thumbnails over HTTP."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image

from tests.search_api.conftest import TEST_CLIENT_HOSTS, build_index, png_bytes


@pytest.mark.parametrize(
    "location, seed",
    [("scenes/scene_1.png", 1), ("chips.zip!zipped/chip_6.png", 6), ("chips.tar.gz!tarred/chip_8.png", 8)],
)
def test_original_bytes_come_back_unchanged_from_folders_and_archives(client, indexed, location, seed):
    response = client.get(f"/images/{indexed.ids[location]}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == png_bytes(seed)


def test_original_jpeg_is_served_as_image_jpeg(client, indexed):
    response = client.get(f"/images/{indexed.ids['scenes/scene_4.jpg']}")
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == (indexed.inputs / "scenes" / "scene_4.jpg").read_bytes()


def test_original_of_an_unknown_id_is_404(client):
    response = client.get("/images/424242")
    assert response.status_code == 404
    assert response.json()["detail"] == "no indexed image has id 424242"


def test_image_info_returns_metadata(client, indexed):
    image_id = indexed.ids["chips.tar.gz!tarred/chip_7.png"]
    body = client.get(f"/images/{image_id}/info").json()
    assert body["member"] == "tarred/chip_7.png"
    assert body["location"].endswith("chips.tar.gz!tarred/chip_7.png")
    assert (body["width"], body["height"]) == (48, 40)


def test_thumbnail_is_a_small_jpeg_cached_in_the_data_directory(client, indexed):
    image_id = indexed.ids["scenes/scene_4.jpg"]
    response = client.get(f"/images/{image_id}/thumbnail", params={"size": 64})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 64
    sha256 = client.get(f"/images/{image_id}/info").json()["sha256"]
    assert (indexed.data_dir / "thumbnails" / sha256[:2] / f"{sha256}-64.jpg").read_bytes() == response.content


def test_thumbnail_never_upscales_a_small_image(client, indexed):
    response = client.get(f"/images/{indexed.ids['scenes/scene_0.png']}/thumbnail")
    assert Image.open(io.BytesIO(response.content)).size == (48, 40)


@pytest.mark.parametrize("size", [8, 5000])
def test_thumbnail_size_out_of_range_is_422(client, indexed, size):
    response = client.get(f"/images/{indexed.ids['scenes/scene_0.png']}/thumbnail", params={"size": size})
    assert response.status_code == 422


def test_thumbnail_of_an_unknown_id_is_404(client):
    assert client.get("/images/424242/thumbnail").status_code == 404


def test_moved_original_is_404_but_its_cached_thumbnail_is_still_served(tmp_path, encoder):
    from fastapi.testclient import TestClient

    from search_api import ApiSettings, create_app

    data = build_index(tmp_path, encoder)
    image_id = data.ids["scenes/scene_3.png"]
    with TestClient(create_app(ApiSettings(data_dir=data.data_dir, allowed_hosts=TEST_CLIENT_HOSTS), encoder=encoder)) as client:
        thumbnail = client.get(f"/images/{image_id}/thumbnail").content
        shutil.rmtree(data.inputs / "scenes")
        gone = client.get(f"/images/{image_id}")
        assert gone.status_code == 404
        assert "scene_3.png" in gone.json()["detail"]
        assert client.get(f"/images/{image_id}/thumbnail").content == thumbnail
