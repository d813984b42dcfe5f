"""Uploads are read as indexing reads them: a rotated 16-bit GeoTIFF sent to /search/image,
/embed, /classify and /similarity is its indexed chip; HEAD /images/{id} answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.rasters import one_chip_scenes, index_into
from tests.search_api.conftest import TEST_CLIENT_HOSTS
from tests.vectors import assert_stored_equal


@pytest.fixture(scope="module")
def raster_client(tmp_path_factory, encoder):
    from search_api import ApiSettings, create_app

    root = tmp_path_factory.mktemp("api-rasters")
    scenes = one_chip_scenes(root / "scenes")
    _report, records = index_into(
        root / "data", encoder, [root / "scenes"], stack="*_B{band}.TIF", bands=("4", "3", "2"), chip_size=128
    )
    app = create_app(ApiSettings(data_dir=root / "data", allowed_hosts=TEST_CLIENT_HOSTS), encoder=encoder)
    with TestClient(app) as client:
        yield client, scenes, {record.member.rpartition("/")[2]: record.id for record in records}


def upload(scenes):
    return {"file": ("rotated16.tif", scenes["rotated"].read_bytes(), "image/tiff")}


def test_search_by_an_uploaded_geotiff_finds_its_own_chip_and_says_how_it_was_read(raster_client):
    client, scenes, ids = raster_client
    answer = client.post("/search/image", files=upload(scenes), data={"k": "2"})
    assert answer.status_code == 200, answer.text
    best = answer.json()["results"][0]
    assert best["id"] == ids["rotated16.tif"] and best["score"] == pytest.approx(1.0, abs=1e-4)
    assert answer.json()["query"].startswith("chip 0,0 100x90 of rotated16.tif")


def test_embed_of_an_uploaded_geotiff_is_the_indexed_vector(raster_client):
    client, scenes, ids = raster_client
    uploaded = client.post("/embed", files=upload(scenes)).json()
    indexed = client.post("/embed", data={"image_id": str(ids["rotated16.tif"])}).json()
    assert_stored_equal(uploaded["vector"], indexed["vector"])
    assert uploaded["query"] and indexed["query"] is None


@pytest.mark.parametrize("route, field", [("/classify", "labels"), ("/similarity", "texts")])
def test_classify_and_similarity_score_an_uploaded_geotiff_as_its_indexed_chip(raster_client, route, field):
    client, scenes, ids = raster_client
    texts = {field: ["a river", "farmland"]}
    by_upload = client.post(route, files=upload(scenes), data=texts).json()["results"]
    by_id = client.post(route, data={**texts, "image_id": str(ids["rotated16.tif"])}).json()["results"]
    assert [r["probability"] for r in by_upload] == pytest.approx([r["probability"] for r in by_id], abs=1e-5)


def test_head_of_an_image_answers_like_get_without_the_body(raster_client):
    client, _scenes, ids = raster_client
    got = client.get(f"/images/{ids['rotated16.tif']}")
    head = client.head(f"/images/{ids['rotated16.tif']}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"] == "image/png"


def test_a_band_stack_is_shown_as_the_stack(raster_client):
    client, _scenes, ids = raster_client
    info = client.get(f"/images/{ids['LC08_TEST_B4.TIF']}/info").json()
    assert info["location"].endswith("LC08_TEST_B{4,3,2}.TIF")
