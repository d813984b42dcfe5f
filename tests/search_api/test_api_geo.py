"""The API's place/time filters, GeoJSON results and rendered chips, over GeoTIFFs written here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import noise_image

WEST_BOX = "14.9,44.8,15.2,45.1"


@pytest.fixture(scope="module")
def geo_client(geo_app, geo_indexed):
    with TestClient(geo_app) as client:
        yield client, geo_indexed.records


def test_text_search_with_bbox_returns_exactly_the_chips_inside(geo_client):
    client, records = geo_client
    body = client.post("/search/text", json={"query": "fields", "k": 50, "bbox": WEST_BOX}).json()
    west = sorted(r.id for r in records if r.member == "west_20140720.tif")
    assert sorted(result["id"] for result in body["results"]) == west
    geo = body["results"][0]["geo"]
    assert geo["crs"] == "EPSG:4326" and geo["acquired"] == "2014-07-20" and geo["footprint"]["type"] == "Polygon"


def test_filters_fill_k_and_combine_dates_and_source(geo_client):
    client, records = geo_client
    body = client.post("/search/text", json={"query": "fields", "k": 3, "date_from": "2020-01-01"}).json()
    assert len(body["results"]) == 3 and {r["member"] for r in body["results"]} == {"east_20200831.tif"}
    photo = next(r for r in records if r.geo is None)
    similar = client.get(f"/search/similar/{photo.id}", params={"k": 2, "date_to": "2015-01-01"}).json()
    assert [r["geo"]["acquired"] for r in similar["results"]] == ["2014-07-20"] * 2
    prefix = records[0].source + "/photo_"
    only_photos = client.get(f"/search/similar/{records[0].id}", params={"k": 10, "source": prefix}).json()
    assert {r["member"] for r in only_photos["results"]} == {"photo_0.png", "photo_1.png"}


def test_image_search_takes_filters_as_form_fields_and_answers_geojson(geo_client):
    client, _records = geo_client
    upload = io.BytesIO()
    noise_image(7).save(upload, format="PNG")
    answer = client.post(
        "/search/image",
        files={"file": ("q.png", upload.getvalue(), "image/png")},
        data={"k": "10", "bbox": "15.9,44.8,16.2,45.1", "format": "geojson"},
    ).json()
    assert answer["type"] == "FeatureCollection" and len(answer["features"]) == 4
    for feature in answer["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and all(15.99 < lon < 16.2 for lon, _ in ring)
        assert feature["properties"]["member"] == "east_20200831.tif"
        assert "footprint" not in feature["properties"]["geo"]


def test_bad_filters_are_422_with_a_reason(geo_client):
    client, records = geo_client
    bad_box = client.post("/search/text", json={"query": "x", "bbox": "15,45,14,46"})
    assert bad_box.status_code == 422 and "bbox" in bad_box.json()["detail"]
    backwards = client.get(f"/search/similar/{records[0].id}", params={"date_from": "2020-01-02", "date_to": "2020-01-01"})
    assert backwards.status_code == 422 and "after" in backwards.json()["detail"]
    not_a_date = client.get(f"/search/similar/{records[0].id}", params={"date_from": "July"})
    assert not_a_date.status_code == 422


def test_a_chip_is_served_as_its_rendered_window(geo_client):
    client, records = geo_client
    chip = next(r for r in records if r.geo is not None)
    original = client.get(f"/images/{chip.id}")
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"
    picture = np.asarray(Image.open(io.BytesIO(original.content)))
    assert picture.shape == (64, 64, 3) and 40 < picture.mean() < 215
    thumbnail = client.get(f"/images/{chip.id}/thumbnail", params={"size": 64})
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (64, 64)
    info = client.get(f"/images/{chip.id}/info").json()
    assert info["geo"]["window"] == dict(zip(("x", "y", "width", "height"), chip.geo.window))
