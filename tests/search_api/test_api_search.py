"""Text, image and more-like-this search over HTTP, against a real tiny model and index."""

from __future__ import annotations


def test_health_reports_items_and_model(client, indexed):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["items"] == len(indexed.ids)


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


def test_text_search_offset_pages_through_the_same_ranking(client):
    everything = client.post("/search/text", json={"query": "forest", "k": 9}).json()["results"]
    page = client.post("/search/text", json={"query": "forest", "k": 3, "offset": 3}).json()["results"]
    assert [r["id"] for r in page] == [r["id"] for r in everything[3:6]]
    assert [r["rank"] for r in page] == [4, 5, 6]
