"""What the web page asks the API for besides searching: upload previews, the embedding map, HEAD."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from evaluation.served_maps import user_map_path
from tests.rasters import textured, write_geotiff


def _preview(client, name: str, data: bytes):
    return client.post("/images/preview", files={"file": (name, data, "application/octet-stream")})


def test_preview_is_the_upload_as_the_search_decodes_it(client):
    picture = Image.fromarray(textured((3, 60, 80), 0, 255, seed=3, dtype="uint8").transpose(1, 2, 0))
    out = io.BytesIO()
    picture.save(out, format="TIFF")  # a browser cannot draw this; the page shows the server's JPEG
    response = _preview(client, "query.tif", out.getvalue())
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    shown = Image.open(io.BytesIO(response.content))
    assert shown.size == (80, 60)
    # The same picture, up to JPEG's loss of fine noise: compare 10 x 10 px block means.
    blocks = [np.asarray(p.convert("RGB").resize((8, 6), Image.Resampling.BOX), dtype=np.int16) for p in (shown, picture)]
    assert np.abs(blocks[0] - blocks[1]).max() < 8


def test_preview_of_a_geotiff_is_drawn_and_a_non_image_is_refused(client, tmp_path):
    scene = write_geotiff(tmp_path / "scene.tif", textured((3, 90, 120), 0, 255, seed=4, dtype="uint8"))
    response = _preview(client, "scene.tif", scene.read_bytes())
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (120, 90)
    refused = _preview(client, "notes.png", b"not a picture at all")
    assert refused.status_code == 415 and "detail" in refused.json()


def test_head_of_an_image_answers_like_get_without_a_body(client, indexed):
    image_id = indexed.ids["scenes/scene_1.png"]
    for path in (f"/images/{image_id}", f"/images/{image_id}/thumbnail"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-type"].startswith("image/")


def test_embedding_map_is_computed_for_the_index_when_the_user_made_none(client, indexed):
    body = client.get("/embedding-map").json()
    assert body["origin"] == "computed" and body["method"] == "pca" and body["note"] is None
    assert sorted(point["id"] for point in body["points"]) == sorted(indexed.ids.values())
    assert {point["source"] for point in body["points"]} == {"scenes", "chips.zip", "chips.tar.gz"}
    assert set(body["thumbnails"]) <= set(indexed.ids.values())
    assert client.get("/embedding-map").json() == body  # kept until the index changes


def test_embedding_map_serves_the_users_plot_file_made_with_the_same_model(client, indexed):
    computed = client.get("/embedding-map").json()
    path = user_map_path(indexed.data_dir)
    mine = {**computed, "method": "umap", "points": computed["points"][:3]}
    mine.pop("origin"), mine.pop("note")
    try:
        path.write_text(json.dumps(mine), encoding="utf-8")
        served = client.get("/embedding-map").json()
        assert served["origin"] == "file" and served["method"] == "umap" and len(served["points"]) == 3
        path.write_text(json.dumps({**mine, "model": {"fingerprint": "another model"}}), encoding="utf-8")
        fallback = client.get("/embedding-map").json()
        assert fallback["origin"] == "computed" and "another model" in fallback["note"]
    finally:
        path.unlink(missing_ok=True)
