"""Text, image and more-like-this search over HTTP, against a real tiny model and index."""

from __future__ import annotations

import io

import pytest

from tests.conftest import noise_image
from tests.search_api.conftest import png_bytes


def test_health_reports_items_and_model(client, indexed):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["items"] == len(indexed.ids)


def test_stats_reports_the_index(client, indexed, encoder):
    body = client.get("/stats").json()
    assert body["items"] == body["vectors"] == len(indexed.ids)
    assert body["dimension"] == encoder.spec.dimension
    assert body["model_fingerprint"] == encoder.spec.fingerprint
    assert body["model_random_weights"] is True  # the tests' tiny checkpoint
    assert sum(body["sources"].values()) == len(indexed.ids)


def test_text_search_returns_ranked_results_with_metadata_and_urls(client, indexed):
    response = client.post("/search/text", json={"query": "a river winding through farmland", "k": 5})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 5
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    first = results[0]
    assert first["id"] in indexed.ids.values()
    assert first["thumbnail_url"] == f"/images/{first['id']}/thumbnail"
    assert first["image_url"] == f"/images/{first['id']}"
    assert first["width"] > 0 and first["height"] > 0 and first["member"]


def test_text_search_answers_like_the_searcher(client, app):
    searcher = app.state.services.searcher
    expected = [(hit.image.id, pytest.approx(hit.score, abs=1e-5)) for hit in searcher.search_text("green fields", 4)]
    results = client.post("/search/text", json={"query": "green fields", "k": 4}).json()["results"]
    assert [(r["id"], r["score"]) for r in results] == expected


def test_text_search_offset_pages_through_the_same_ranking(client):
    everything = client.post("/search/text", json={"query": "forest", "k": 9}).json()["results"]
    page = client.post("/search/text", json={"query": "forest", "k": 3, "offset": 3}).json()["results"]
    assert [r["id"] for r in page] == [r["id"] for r in everything[3:6]]
    assert [r["rank"] for r in page] == [4, 5, 6]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"query": "", "k": 5}, "query"),
        ({"query": "   ", "k": 5}, "query"),
        ({"k": 5}, "query"),
        ({"query": "forest", "k": 0}, "k"),
        ({"query": "forest", "k": 1001}, "k"),
        ({"query": "forest", "offset": -1}, "offset"),
    ],
)
def test_text_search_refuses_empty_query_or_k_out_of_range_with_422(client, body, field):
    response = client.post("/search/text", json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_image_search_finds_the_uploaded_photo_first(client, indexed):
    response = client.post("/search/image", files={"file": ("query.png", png_bytes(2), "image/png")}, data={"k": "3"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert results[0]["id"] == indexed.ids["scenes/scene_2.png"]
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_image_search_pages_with_offset(client):
    files = {"file": ("query.png", png_bytes(2), "image/png")}
    everything = client.post("/search/image", files=files, data={"k": "6"}).json()["results"]
    page = client.post("/search/image", files=files, data={"k": "2", "offset": "2"}).json()["results"]
    assert [r["id"] for r in page] == [r["id"] for r in everything[2:4]]


def test_image_search_refuses_a_file_that_is_no_image_with_415(client):
    response = client.post("/search/image", files={"file": ("notes.txt", b"just some text", "text/plain")})
    assert response.status_code == 415
    assert "not a recognised image format" in response.json()["detail"]


def test_image_search_refuses_a_damaged_image_with_400(client):
    out = io.BytesIO()
    noise_image(3, (200, 200)).save(out, format="PNG")
    truncated = out.getvalue()[: len(out.getvalue()) // 2]
    response = client.post("/search/image", files={"file": ("cut.png", truncated, "image/png")})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_image_search_refuses_an_empty_upload_with_400(client):
    response = client.post("/search/image", files={"file": ("empty.png", b"", "image/png")})
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_image_search_refuses_an_upload_over_the_limit_with_413(client):
    # The test app allows 200,000 bytes; this PNG of noise is about 750 kB.
    out = io.BytesIO()
    noise_image(9, (500, 500)).save(out, format="PNG")
    response = client.post("/search/image", files={"file": ("big.png", out.getvalue(), "image/png")})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_an_upload_just_over_the_limit_is_refused_while_read(client):
    # Small enough to pass the declared-length check, so the bounded read must catch it.
    response = client.post("/search/image", files={"file": ("big.png", b"\x89PNG" + b"0" * 200_000, "image/png")})
    assert response.status_code == 413


def test_image_search_refuses_k_out_of_range_with_422(client):
    response = client.post("/search/image", files={"file": ("q.png", png_bytes(2), "image/png")}, data={"k": "0"})
    assert response.status_code == 422


def test_image_search_without_a_file_is_422(client):
    assert client.post("/search/image", data={"k": "3"}).status_code == 422


def test_similar_search_leaves_out_the_image_itself(client, indexed):
    image_id = indexed.ids["chips.zip!zipped/chip_5.png"]
    response = client.get(f"/search/similar/{image_id}", params={"k": 4})
    assert response.status_code == 200
    ids = [r["id"] for r in response.json()["results"]]
    assert len(ids) == 4 and image_id not in ids


def test_similar_search_of_an_unknown_id_is_404(client):
    response = client.get("/search/similar/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no indexed image has id 999999"}


@pytest.mark.parametrize("params", [{"k": 0}, {"k": 5000}, {"offset": -2}])
def test_similar_search_refuses_k_or_offset_out_of_range_with_422(client, indexed, params):
    assert client.get("/search/similar/1", params=params).status_code == 422
