"""Every way a request can be wrong gets its status code and a JSON reason, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from search_api import ApiSettings, create_app
from search_api.models import MAX_QUERY_CHARS
from tests.indexer.hostile import png_header_only
from tests.rasters import textured, write_geotiff
from tests.search_api.conftest import TEST_CLIENT_HOSTS, png_bytes

HUGE_IDS = ["0", "-1", str(2**53), str(2**63), "99999999999999999999999"]


def _reason(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail
    return str(detail)


# -- text queries -----------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "   ", "\n\t ", "x" * (MAX_QUERY_CHARS + 1)])
def test_empty_whitespace_or_over_long_text_is_422_naming_the_query(client, query):
    assert "query" in _reason(client.post("/search/text", json={"query": query}), 422)


def test_text_at_the_length_limit_is_accepted_and_truncated_as_the_model_does(client):
    words = ("forest river field harbor " * 600)[:MAX_QUERY_CHARS]
    long_answer = client.post("/search/text", json={"query": words, "k": 5})
    assert long_answer.status_code == 200
    # The model reads the first 64 tokens only; what comes after cannot change the ranking.
    changed_tail = client.post("/search/text", json={"query": words[:-40] + "desert " * 5, "k": 5})
    assert [(r["id"], r["score"]) for r in changed_tail.json()["results"]] == [
        (r["id"], r["score"]) for r in long_answer.json()["results"]
    ]


@pytest.mark.parametrize(
    "query", ["🛰️ satellite 🌊 coast", "雪に覆われた山", "حقول خضراء", "emoji only 🌋🏜️", "nul\u0000byte", "\u202eevil"]
)
def test_unicode_and_emoji_queries_work(client, query):
    response = client.post("/search/text", json={"query": query, "k": 3})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


# -- bodies of the wrong shape ---------------------------------------------------------------
def test_malformed_json_is_422_saying_so(client):
    response = client.post("/search/text", content=b'{"query": "forest", ', headers={"content-type": "application/json"})
    assert "not valid JSON" in _reason(response, 422)


@pytest.mark.parametrize("body", [b'["forest"]', b'"forest"', b"42", b"null", b'{"query": 5}', b'{"q": "forest"}'])
def test_json_that_is_not_a_text_query_object_is_422(client, body):
    _reason(client.post("/search/text", content=body, headers={"content-type": "application/json"}), 422)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"content": b"query=forest", "headers": {"content-type": "text/plain"}},
        {"data": {"query": "forest"}},
        {"content": b'{"query": "forest"}', "headers": {"content-type": "application/xml"}},
    ],
    ids=["text-plain", "form", "xml"],
)
def test_text_search_with_a_body_that_is_not_json_is_415(client, kwargs):
    assert "application/json" in _reason(client.post("/search/text", **kwargs), 415)


@pytest.mark.parametrize("path", ["/search/image", "/classify", "/similarity", "/embed"])
def test_form_endpoints_sent_json_are_415(client, path):
    assert "multipart/form-data" in _reason(client.post(path, json={"k": 3}), 415)


def test_a_broken_multipart_body_is_400(client):
    response = client.post(
        "/search/image", content=b"--xyz\r\nnot a part", headers={"content-type": "multipart/form-data; boundary=xyz"}
    )
    assert response.status_code in (400, 422) and response.json()["detail"]


# -- numbers out of range ----------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("k", 0), ("k", 1001), ("offset", -1), ("offset", 100_001), ("k", "many")])
def test_k_and_offset_out_of_range_are_422_on_every_search(client, indexed, field, value):
    image_id = next(iter(indexed.ids.values()))
    assert field in _reason(client.post("/search/text", json={"query": "forest", field: value}), 422)
    files = {"file": ("q.png", png_bytes(1), "image/png")}
    assert field in _reason(client.post("/search/image", files=files, data={field: str(value)}), 422)
    assert field in _reason(client.get(f"/search/similar/{image_id}", params={field: value}), 422)


@pytest.mark.parametrize("image_id", HUGE_IDS)
@pytest.mark.parametrize("path", ["/images/{}", "/images/{}/info", "/images/{}/thumbnail", "/search/similar/{}"])
def test_ids_outside_the_catalogs_range_are_422_not_a_crash(client, path, image_id):
    assert "image_id" in _reason(client.get(path.format(image_id)), 422)


@pytest.mark.parametrize("image_id", [2**31 - 1, 2**31, 2**32 + 1, 2**53 - 1])
@pytest.mark.parametrize("path", ["/images/{}", "/images/{}/info", "/images/{}/thumbnail", "/search/similar/{}"])
def test_unknown_ids_up_to_the_largest_the_api_takes_are_404_on_every_catalog(client, path, image_id):
    assert str(image_id) in _reason(client.get(path.format(image_id)), 404)


def test_an_unknown_id_in_a_form_is_404(client):
    assert str(2**53 - 1) in _reason(client.post("/embed", data={"image_id": str(2**53 - 1)}), 404)


def test_an_id_outside_the_range_in_a_form_is_422(client):
    assert "image_id" in _reason(client.post("/classify", data={"labels": ["a"], "image_id": str(2**70)}), 422)


def test_unknown_paths_and_methods_answer_json(client):
    _reason(client.get("/no/such/endpoint"), 404)
    _reason(client.delete("/search/text"), 405)


# -- uploads ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, status, words",
    [
        (png_header_only(100_000, 100_000), 413, "pixels"),  # a decompression bomb's header
        (png_bytes(2, (64, 64))[:200], 400, "decode"),
        (b"", 400, "empty"),
        (b"%PDF-1.7 not a photo", 415, "not a recognised image"),
    ],
    ids=["pixel-bomb", "truncated", "empty", "not-an-image"],
)
def test_bad_uploads_get_their_status_and_reason(client, data, status, words):
    response = client.post("/search/image", files={"file": ("q.png", data, "image/png")})
    assert words in _reason(response, status)


@pytest.fixture
def make_client(indexed, encoder):
    """A client of an app with other settings (limits, key, CORS) over the same index."""
    clients = []

    def make(**settings) -> TestClient:
        settings = {"allowed_hosts": TEST_CLIENT_HOSTS, "database_url": indexed.database_url, **settings}
        app = create_app(ApiSettings(data_dir=indexed.data_dir, **settings), encoder=encoder)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_an_upload_over_the_pixel_limit_is_413_before_decoding(make_client):
    client = make_client(max_upload_pixels=1000)
    response = client.post("/search/image", files={"file": ("q.png", png_bytes(3, (40, 40)), "image/png")})
    assert "over the limit of 1,000" in _reason(response, 413)


def test_a_geotiff_upload_that_would_decode_too_many_pixels_is_413(make_client, tmp_path):
    path = write_geotiff(tmp_path / "scene.tif", textured((1, 400, 300), 10, 250, dtype="uint8"))
    client = make_client(max_upload_pixels=50_000)  # the scene is small in bytes but 120,000 pixels without overviews
    response = client.post("/search/image", files={"file": ("scene.tif", path.read_bytes(), "image/tiff")})
    assert "overviews" in _reason(response, 413)


# -- access ------------------------------------------------------------------------------------------
def test_admin_endpoints_are_disabled_without_a_configured_key(client):
    assert "RSCLIP_API_KEY" in _reason(client.post("/admin/reload"), 403)
    assert _reason(client.post("/admin/reload", headers={"X-API-Key": "guess"}), 403)


def test_admin_endpoints_need_the_right_key(make_client, indexed):
    client = make_client(api_key="s3cret-key")
    response = client.post("/admin/reload")
    assert "API key" in _reason(response, 401) and response.headers["www-authenticate"].startswith("Bearer")
    _reason(client.post("/admin/reload", headers={"X-API-Key": "s3cret-kez"}), 401)
    _reason(client.post("/admin/reload", headers={"Authorization": "Basic czNjcmV0LWtleQ=="}), 401)
    by_header = client.post("/admin/reload", headers={"X-API-Key": "s3cret-key"})
    by_bearer = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret-key"})
    assert by_header.status_code == by_bearer.status_code == 200
    assert by_header.json()["items"] == by_header.json()["vectors"] == len(indexed.ids)


def test_the_key_never_appears_in_settings_repr():
    assert "s3cret" not in repr(ApiSettings(data_dir=".", api_key="s3cret"))


def test_cors_is_closed_by_default(client):
    response = client.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/search/text", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_exactly_the_configured_origins(make_client):
    client = make_client(cors_origins=("https://maps.example.org",))
    allowed = client.get("/health", headers={"Origin": "https://maps.example.org"})
    assert allowed.headers["access-control-allow-origin"] == "https://maps.example.org"
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# -- bursts ----------------------------------------------------------------------------------------------
def test_when_every_slot_is_taken_and_the_queue_is_full_the_answer_is_503_with_retry_after(make_client):
    client = make_client(model_slots=1, queue_size=0, queue_seconds=5)
    admission = client.app.state.admission
    client.portal.call(admission.acquire)  # another request is "running"
    try:
        for request in (
            lambda: client.post("/search/text", json={"query": "forest"}),
            lambda: client.get("/search/similar/1"),
            lambda: client.post("/embed", data={"text": "forest"}),
        ):
            response = request()
            assert "busy" in _reason(response, 503)
            assert int(response.headers["retry-after"]) >= 1
        assert client.get("/health").status_code == 200  # no model work: never queued
    finally:
        client.portal.call(admission.release)
    assert client.post("/search/text", json={"query": "forest"}).status_code == 200


def test_a_request_that_waits_too_long_for_a_slot_gets_503(make_client):
    client = make_client(model_slots=1, queue_size=4, queue_seconds=0.05)
    admission = client.app.state.admission
    client.portal.call(admission.acquire)
    try:
        response = client.post("/search/text", json={"query": "forest"})
    finally:
        client.portal.call(admission.release)
    assert "no turn within 0.05 s" in _reason(response, 503)
    assert admission.waiting == 0
