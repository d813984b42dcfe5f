"""The OpenAPI schema, the docs page, the web page's files, and many requests at once."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx

from search_api.routers.pages import STATIC_DIR
from tests.search_api.conftest import png_bytes

ENDPOINTS = {
    ("get", "/health"),
    ("get", "/stats"),
    ("post", "/search/text"),
    ("post", "/search/image"),
    ("get", "/search/similar/{image_id}"),
    ("get", "/images/{image_id}"),
    ("head", "/images/{image_id}"),
    ("get", "/images/{image_id}/thumbnail"),
    ("head", "/images/{image_id}/thumbnail"),
    ("post", "/images/preview"),
    ("get", "/embedding-map"),
    ("get", "/images/{image_id}/info"),
    ("post", "/classify"),
    ("post", "/similarity"),
    ("post", "/embed"),
    ("post", "/admin/reload"),
}


def test_openapi_schema_lists_every_endpoint_with_its_error_responses(client):
    schema = client.get("/openapi.json").json()
    published = {(method, path) for path, methods in schema["paths"].items() for method in methods}
    assert published == ENDPOINTS
    assert {"404", "422"} <= set(schema["paths"]["/search/similar/{image_id}"]["get"]["responses"])
    assert {"400", "413", "415", "422"} <= set(schema["paths"]["/search/image"]["post"]["responses"])
    assert "TextQuery" in schema["components"]["schemas"]


def test_docs_and_redoc_pages_load_their_assets_from_this_server(client):
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200 and "openapi.json" in response.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert assets and all(asset.startswith("/static/vendor/") for asset in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_web_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_web_page_loads_nothing_from_other_hosts():
    for path in (p for p in STATIC_DIR.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".css")):
        text = path.read_text(encoding="utf-8")
        # Vendored Leaflet holds a link to its home page for its attribution control, which the
        # page turns off; the browser tests check that no request ever leaves the server.
        if "vendor" not in path.parts:
            assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name


def test_concurrent_requests_to_a_live_server_all_get_their_own_right_answer(live_server, indexed):
    def text_search(query):
        response = httpx.post(f"{live_server.url}/search/text", json={"query": query, "k": 3}, timeout=60)
        return [r["id"] for r in response.json()["results"]]

    def image_search(seed):
        files = {"file": ("q.png", png_bytes(seed), "image/png")}
        response = httpx.post(f"{live_server.url}/search/image", files=files, data={"k": "1"}, timeout=60)
        return response.json()["results"][0]["id"]

    queries = ["forest", "a harbor with boats", "green fields", "a desert with sand dunes"] * 3
    expected_text = {query: text_search(query) for query in set(queries)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        text_answers = list(pool.map(text_search, queries))
        image_answers = list(pool.map(image_search, [0, 1, 2, 3] * 3))
    assert text_answers == [expected_text[query] for query in queries]
    assert image_answers == [indexed.ids[f"scenes/scene_{seed}.png"] for seed in [0, 1, 2, 3] * 3]
